//! Lexicon-and-rules sentiment in the manner of VADER (Hutto & Gilbert, 2014), built on its MIT
//! lexicon (`data/vader/`): negation, boosters, contrastive "but", ALL-CAPS emphasis, punctuation
//! emphasis and "least". On top of VADER:
//!
//! * emoji are looked up as whole graphemes, with skin tones and variation selectors removed and ZWJ
//!   sequences falling back to their first emoji; emoji glued to words are split off;
//! * elongations ("sooo", "goooood") are looked up collapsed, and count as emphasis;
//! * camel-case hashtags are split into words (`#NeverAgain` is "never again");
//! * earshot's own lexicon (`data/earshot/support_lexicon.tsv`) adds the vocabulary of support
//!   ("outage", "overcharged") and phrases whose meaning is not the sum of their words ("still
//!   waiting", "on hold", "not working", "no complaints");
//! * scores are given per sentence as well, with "but" acting within its sentence.
//!
//! The scorer is a value built once and shared. Scoring allocates the lower-cased copy of the text
//! and the scores it returns; the tokens and valences of a tweet-length text stay on the stack.

mod word_table;

use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use wide::i8x16;

use serde::{Deserialize, Serialize};

use crate::span::Span;
use word_table::WordTable;

const LEXICON: &str = include_str!("../data/vader/vader_lexicon.txt");
const EMOJI_DESCRIPTIONS: &str = include_str!("../data/vader/emoji_utf8_lexicon.txt");
const OWN_LEXICON: &str = include_str!("../data/earshot/support_lexicon.tsv");

/// Added to or taken from a booster's effect when the booster is in ALL CAPS.
const CAPS_INCR: f32 = 0.733;
/// Booster effect.
const B_INCR: f32 = 0.293;
/// Multiplier applied to a negated valence.
const NEGATION: f32 = -0.74;

const NEGATIONS: &[&str] = &[
    "aint",
    "arent",
    "cannot",
    "cant",
    "couldnt",
    "darent",
    "didnt",
    "doesnt",
    "ain't",
    "aren't",
    "can't",
    "couldn't",
    "daren't",
    "didn't",
    "doesn't",
    "dont",
    "hadnt",
    "hasnt",
    "havent",
    "isnt",
    "mightnt",
    "mustnt",
    "neither",
    "don't",
    "hadn't",
    "hasn't",
    "haven't",
    "isn't",
    "mightn't",
    "mustn't",
    "neednt",
    "needn't",
    "never",
    "none",
    "nope",
    "nor",
    "not",
    "nothing",
    "nowhere",
    "oughtnt",
    "shant",
    "shouldnt",
    "uhuh",
    "wasnt",
    "werent",
    "oughtn't",
    "shan't",
    "shouldn't",
    "uh-uh",
    "wasn't",
    "weren't",
    "without",
    "wont",
    "wouldnt",
    "won't",
    "wouldn't",
    "rarely",
    "seldom",
    "despite",
];

const INTENSIFIERS: &[&str] = &[
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerable",
    "considerably",
    "decidedly",
    "deeply",
    "effing",
    "enormous",
    "enormously",
    "entirely",
    "especially",
    "exceptional",
    "exceptionally",
    "extreme",
    "extremely",
    "fabulously",
    "flipping",
    "flippin",
    "frackin",
    "fracking",
    "fricking",
    "frickin",
    "frigging",
    "friggin",
    "fully",
    "fuckin",
    "fucking",
    "fuggin",
    "fugging",
    "greatly",
    "hella",
    "highly",
    "hugely",
    "incredible",
    "incredibly",
    "intensely",
    "major",
    "majorly",
    "more",
    "most",
    "particularly",
    "purely",
    "quite",
    "really",
    "remarkably",
    "so",
    "substantially",
    "thoroughly",
    "total",
    "totally",
    "tremendous",
    "tremendously",
    "uber",
    "unbelievably",
    "unusually",
    "utter",
    "utterly",
    "very",
];

const DAMPENERS: &[&str] = &[
    "almost",
    "barely",
    "hardly",
    "kinda",
    "kindof",
    "kind-of",
    "less",
    "little",
    "marginal",
    "marginally",
    "occasional",
    "occasionally",
    "partly",
    "scarce",
    "scarcely",
    "slight",
    "slightly",
    "somewhat",
    "sorta",
    "sortof",
    "sort-of",
];

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

    pub fn as_str(self) -> &'static str {
        match self {
            Label::Positive => "positive",
            Label::Neutral => "neutral",
            Label::Negative => "negative",
        }
    }
}

/// A word that moved the score, and by how much after the rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(flatten)]
    pub span: Span,
    pub valence: f32,
}

/// Scores of one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Normalised sum of valences, -1..1. In an insight, the message's score refined by the
    /// emotion model within its label (see `analyze::refine_sentiment`).
    pub compound: f32,
    /// The lexicon's own compound score, before any refinement: what the evidence adds up to.
    #[serde(default)]
    pub lexicon_compound: f32,
    pub positive: f32,
    pub neutral: f32,
    pub negative: f32,
    pub label: Label,
    pub evidence: Vec<Evidence>,
    /// The same per sentence, in order.
    #[serde(default)]
    pub sentences: Vec<SentenceScore>,
}

/// The sentiment of one sentence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SentenceScore {
    pub start: usize,
    pub end: usize,
    pub compound: f32,
    pub label: Label,
}

impl Scores {
    /// The sentence that contains byte `at`, if any.
    pub fn sentence_at(&self, at: usize) -> Option<&SentenceScore> {
        self.sentences.iter().find(|s| s.start <= at && at < s.end)
    }
}

/// The sentiment scorer: the lexicon and the rules.
#[derive(Debug, Clone)]
pub struct SentimentScorer {
    /// Everything known of a lower-cased word, in one table: one lookup per token. Stored packed
    /// ([`PackedWord`]), so that a slot is 24 bytes and more of the table stays in cache.
    words: WordTable<PackedWord>,
    /// Emoji (normalised: no skin tone, no variation selector) to valence.
    emoji: FxHashMap<String, f32>,
    /// Two- and three-word phrases to valence.
    phrases: FxHashMap<&'static str, f32>,
    /// Spellings in capitals that the lexicon tells apart from their lower-case form ("D:", "LOL",
    /// "SOB", ":P"), looked up as written.
    cased: WordTable<f32>,
    /// The first bytes of those spellings: most words in capitals ("I", "I'm", "RT") start with
    /// none of them, and skip that lookup.
    cased_starts: [bool; 256],
}

/// What the lexicons say of one word.
#[derive(Debug, Clone, Copy, Default)]
struct Word {
    valence: Option<f32>,
    /// Booster effect (positive intensifier, negative dampener).
    booster: Option<f32>,
    negation: bool,
    /// First word of a phrase of the phrase lexicon: most tokens start none and skip that lookup.
    phrase_start: bool,
    /// One of the few words the rules name, found by the same lookup.
    special: Special,
}

/// A [`Word`] in eight bytes: the valence's bits in the low half; above them, whether it has one,
/// the booster (two bits), negation, phrase start and the special word's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PackedWord(u64);

const HAS_VALENCE: u64 = 1 << 32;
const INTENSIFIER: u64 = 1 << 33;
const DAMPENER: u64 = 1 << 34;
const NEGATES: u64 = 1 << 35;
const STARTS_PHRASE: u64 = 1 << 36;
const SPECIAL_SHIFT: u32 = 40;

impl Word {
    /// Packs the word. A booster is an intensifier or a dampener, of effect [`B_INCR`].
    fn pack(self) -> PackedWord {
        let mut p = (self.special as u64) << SPECIAL_SHIFT;
        if let Some(v) = self.valence {
            p |= u64::from(v.to_bits()) | HAS_VALENCE;
        }
        // Every booster of the lexicons is of effect B_INCR; the packing keeps only its sign.
        debug_assert!(self.booster.is_none_or(|b| b.abs() == B_INCR));
        match self.booster {
            Some(b) if b > 0.0 => p |= INTENSIFIER,
            Some(_) => p |= DAMPENER,
            None => {}
        }
        if self.negation {
            p |= NEGATES;
        }
        if self.phrase_start {
            p |= STARTS_PHRASE;
        }
        PackedWord(p)
    }

    #[inline(always)]
    fn unpack(p: PackedWord) -> Word {
        let p = p.0;
        Word {
            valence: (p & HAS_VALENCE != 0).then(|| f32::from_bits(p as u32)),
            booster: if p & INTENSIFIER != 0 {
                Some(B_INCR)
            } else if p & DAMPENER != 0 {
                Some(-B_INCR)
            } else {
                None
            },
            negation: p & NEGATES != 0,
            phrase_start: p & STARTS_PHRASE != 0,
            special: Special::from_index((p >> SPECIAL_SHIFT) as u8),
        }
    }
}

/// The words the rules name ("but", "no", "kind of", "at least", ...), so that the rules compare a
/// byte instead of a string.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Special {
    #[default]
    Other,
    But,
    Kind,
    Of,
    No,
    Or,
    Nor,
    Least,
    At,
    Very,
    So,
    This,
    Never,
    Without,
    Doubt,
}

impl Special {
    /// The special word of number `i` (its `as u8`), [`Special::Other`] for any other number.
    #[inline(always)]
    fn from_index(i: u8) -> Special {
        SPECIAL_BY_INDEX
            .get(usize::from(i))
            .copied()
            .unwrap_or(Special::Other)
    }
}

/// Every special word, by its number.
const SPECIAL_BY_INDEX: [Special; 15] = {
    use Special::*;
    [
        Other, But, Kind, Of, No, Or, Nor, Least, At, Very, So, This, Never, Without, Doubt,
    ]
};

const SPECIALS: &[(&str, Special)] = &[
    ("but", Special::But),
    ("kind", Special::Kind),
    ("of", Special::Of),
    ("no", Special::No),
    ("or", Special::Or),
    ("nor", Special::Nor),
    ("least", Special::Least),
    ("at", Special::At),
    ("very", Special::Very),
    ("so", Special::So),
    ("this", Special::This),
    ("never", Special::Never),
    ("without", Special::Without),
    ("doubt", Special::Doubt),
];

impl Default for SentimentScorer {
    fn default() -> Self {
        Self::new()
    }
}

/// What the rules need to know of one token, computed once per token.
#[derive(Debug, Clone, Copy)]
struct Token {
    start: usize,
    end: usize,
    /// Its lower-cased form is `lower[lstart..lend]` of the scoring call.
    lstart: usize,
    lend: usize,
    shouting: bool,
    /// Lexicon valence, if the word is in the lexicon.
    valence: Option<f32>,
    /// Booster effect (positive intensifier, negative dampener), if a booster.
    booster: Option<f32>,
    negation: bool,
    /// Index of the sentence the token is in.
    sentence: u32,
    /// Written elongated ("sooo"): emphasis.
    elongated: bool,
    /// Ends a phrase of the phrase lexicon; its valence is the phrase's.
    phrase: bool,
    /// Part of a phrase, before its last word: carries nothing itself.
    absorbed: bool,
    /// May start a phrase of the phrase lexicon.
    phrase_start: bool,
    /// Its lower-cased form, if the rules name it.
    special: Special,
    /// A word, to be looked up (see [`SentimentScorer::resolve`]); not an emoji.
    word: bool,
    /// Written with capitals the lexicon may tell apart (see [`Spelling`]).
    capitals: bool,
    /// Has an apostrophe ("don't").
    apostrophe: bool,
    /// ASCII.
    ascii: bool,
}

/// The tokens of a text: on the stack up to 24 (a tweet has some fifteen), on the heap beyond.
type Tokens = SmallVec<[Token; 24]>;

/// A word as written, before it is looked up.
struct Spelling {
    /// Its offset in the text.
    start: usize,
    /// Its end in the text.
    end: usize,
    /// Its lower-cased form is `lower[lstart..lend]` of the scoring call.
    lstart: usize,
    lend: usize,
    shouting: bool,
    apostrophe: bool,
    /// Has capitals the lexicon may tell apart ("LOL", "D:").
    capitals: bool,
    ascii: bool,
}

impl Spelling {
    /// An ASCII word at `start` of the text, its lower-cased form at `lstart` of `lower`: one
    /// table lookup per byte answers what the rules ask of its letters.
    #[inline(always)]
    fn ascii(start: usize, word: &[u8], lstart: usize) -> Spelling {
        Spelling::of_class(start, word.len(), lstart, class_of(word))
    }

    /// An ASCII word of `len` bytes whose bytes' [`CLASS`] bits, or-ed, are `class`.
    #[inline(always)]
    fn of_class(start: usize, len: usize, lstart: usize, class: u8) -> Spelling {
        let (upper, lowercase) = (class & UPPER != 0, class & LOWER != 0);
        Spelling {
            start,
            end: start + len,
            lstart,
            lend: lstart + len,
            shouting: upper && !lowercase,
            apostrophe: class & APOSTROPHE != 0,
            // Written in capitals, or an emoticon with a capital: maybe a spelling of its own.
            capitals: upper && (!lowercase || class & SYMBOL != 0),
            ascii: true,
        }
    }
}

/// Removes what does not change an emoji's meaning: skin tones, variation selectors; a ZWJ sequence
/// is reduced to its first emoji.
fn normalise_emoji(g: &str) -> String {
    let first = g.split('\u{200d}').next().unwrap_or(g);
    first
        .chars()
        .filter(|c| !matches!(*c, '\u{fe0f}' | '\u{fe0e}' | '\u{1f3fb}'..='\u{1f3ff}'))
        .collect()
}

fn is_pictographic(c: char) -> bool {
    matches!(c, '\u{1f000}'..='\u{1faff}' | '\u{2600}'..='\u{27bf}' | '\u{2b00}'..='\u{2bff}' | '\u{2300}'..='\u{23ff}')
}

/// Byte classes of the ASCII path ([`CLASS`]).
const UPPER: u8 = 1;
const LOWER: u8 = 2;
const APOSTROPHE: u8 = 4;
/// Not a letter or digit.
const SYMBOL: u8 = 8;
const PUNCT: u8 = 16;
/// ASCII whitespace, as `u8::is_ascii_whitespace`.
const SPACE: u8 = 32;

/// The class bits of every byte: one lookup answers every question the rules ask of a character.
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut c = 0;
        if b.is_ascii_uppercase() {
            c |= UPPER;
        }
        if b.is_ascii_lowercase() {
            c |= LOWER;
        }
        if b == b'\'' {
            c |= APOSTROPHE;
        }
        if !b.is_ascii_alphanumeric() {
            c |= SYMBOL;
        }
        if b.is_ascii_punctuation() {
            c |= PUNCT;
        }
        if b.is_ascii_whitespace() {
            c |= SPACE;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// The word of the whitespace-separated run `text[start..end]`, as a byte range of `text`: the run
/// without ASCII punctuation at either end, unless that leaves at most two characters, when the
/// punctuation is kept (emoticons such as ":)" stay whole). (Byte by byte: an ASCII byte is never
/// part of a multi-byte character, so the cuts fall on character boundaries.) `ascii`: the run is
/// known to be ASCII.
#[inline(always)]
fn word_in_run(text: &str, start: usize, end: usize, ascii: bool) -> (usize, usize) {
    let b = text.as_bytes();
    let (mut ts, mut te) = (start, end);
    while ts < te && CLASS[usize::from(b[ts])] & PUNCT != 0 {
        ts += 1;
    }
    while te > ts && CLASS[usize::from(b[te - 1])] & PUNCT != 0 {
        te -= 1;
    }
    let short = if ascii || b[ts..te].is_ascii() {
        te - ts <= 2
    } else {
        text[ts..te].chars().nth(2).is_none()
    };
    if short {
        (start, end)
    } else {
        (ts, te)
    }
}

/// The [`CLASS`] bits of the bytes of `word`, or-ed: one table lookup per byte.
#[inline(always)]
fn class_of(word: &[u8]) -> u8 {
    word.iter()
        .fold(0u8, |class, &c| class | CLASS[usize::from(c)])
}

/// What [`word_in_run`] and the [`CLASS`] fold of [`class_of`] find of the run
/// `b[start..end]` of an ASCII text, the word's range and its class bits, from one 16-byte read
/// and a few comparisons over all 16 bytes at once: no loop over the word's bytes, whose exit the
/// branch predictor misses at almost every word. `None` when the run is longer than 16 bytes or
/// ends within 16 bytes of the end of the text; the loops then answer.
#[inline(always)]
fn short_run(b: &[u8], start: usize, end: usize) -> Option<(usize, usize, u8)> {
    let chunk: &[u8; 16] = b.get(start..start + 16)?.try_into().ok()?;
    let n = end - start;
    if n > 16 {
        return None;
    }
    let run = (1u32 << n) - 1;
    let c = ByteClasses::of(chunk);
    let alphanumeric = c.upper | c.lower | c.digit;
    // ASCII punctuation: printable, neither a letter, a digit nor a space.
    let punctuation = c.printable & !alphanumeric;
    // The run without punctuation at either end, unless that leaves at most two bytes.
    let kept = run & !punctuation;
    let (ws, we) = if kept == 0 {
        (0, 0)
    } else {
        (kept.trailing_zeros(), 32 - kept.leading_zeros())
    };
    let (ws, we) = if we - ws <= 2 {
        (0, n as u32)
    } else {
        (ws, we)
    };
    let word = run >> ws << ws & !(u32::MAX << we);
    let mut class = 0;
    for (bits, flag) in [
        (c.upper, UPPER),
        (c.lower, LOWER),
        (c.apostrophe, APOSTROPHE),
        (!alphanumeric, SYMBOL),
    ] {
        if bits & word != 0 {
            class |= flag;
        }
    }
    Some((start + ws as usize, start + we as usize, class))
}

/// Which of 16 ASCII bytes are of each class [`short_run`] asks about, as bits from the lowest.
struct ByteClasses {
    upper: u32,
    lower: u32,
    digit: u32,
    /// '!' to '~'.
    printable: u32,
    apostrophe: u32,
}

impl ByteClasses {
    /// Two compares per class over all 16 bytes, and one instruction to gather a bit from each
    /// (SSE2 on every x86-64 processor, NEON on aarch64; `wide` falls back to arrays elsewhere).
    #[inline(always)]
    fn of(chunk: &[u8; 16]) -> ByteClasses {
        // Signed compares: ASCII bytes are 0..=127 either way.
        let v = i8x16::new(chunk.map(|b| b as i8));
        let within = |lo: u8, hi: u8| {
            let above = v.simd_gt(i8x16::splat(lo as i8 - 1));
            let below = i8x16::splat(hi as i8 + 1).simd_gt(v);
            (above & below).to_bitmask()
        };
        ByteClasses {
            upper: within(b'A', b'Z'),
            lower: within(b'a', b'z'),
            digit: within(b'0', b'9'),
            printable: within(b'!', b'~'),
            apostrophe: within(b'\'', b'\''),
        }
    }
}

/// The whitespace-separated runs of a text, as `(start, end, a line break before it)`. `ascii`:
/// the text is ASCII, and is scanned byte by byte without decoding.
struct Runs<'a> {
    text: &'a str,
    at: usize,
    ascii: bool,
}

impl Iterator for Runs<'_> {
    type Item = (usize, usize, bool);

    #[inline]
    fn next(&mut self) -> Option<(usize, usize, bool)> {
        let mut line_break = false;
        let (start, end) = if self.ascii {
            let b = self.text.as_bytes();
            let mut i = self.at;
            while i < b.len() && CLASS[usize::from(b[i])] & SPACE != 0 {
                line_break |= b[i] == b'\n';
                i += 1;
            }
            (i, word_end(b, i))
        } else {
            let rest = &self.text[self.at..];
            let start = rest
                .char_indices()
                .find(|&(_, c)| {
                    line_break |= c == '\n';
                    !c.is_whitespace()
                })
                .map_or(self.text.len(), |(i, _)| self.at + i);
            let end = self.text[start..]
                .find(char::is_whitespace)
                .map_or(self.text.len(), |i| start + i);
            (start, end)
        };
        self.at = end;
        (start < end).then_some((start, end, line_break))
    }
}

/// Eight bytes of 0x01, for the eight-bytes-at-a-time (SWAR) byte tests below.
const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
/// The high bit of each of eight bytes.
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// The end of the word of the ASCII text `b` that starts at `i`: the next whitespace byte, or the
/// end of the text. Eight bytes at a time: a word's end is then found in one or two steps that the
/// branch predictor gets right, where a loop over bytes is mispredicted at every word's end.
#[inline]
fn word_end(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        let mut x = [0u8; 8];
        x.copy_from_slice(chunk);
        let x = u64::from_le_bytes(x);
        // The high bit of each byte below 0x21 (whitespace and other control bytes); exact for
        // the lowest such byte, as the text is ASCII.
        let low = x.wrapping_sub(ONES * 0x21) & !x & HIGHS;
        if low == 0 {
            i += 8;
            continue;
        }
        let at = i + (low.trailing_zeros() / 8) as usize;
        if CLASS[usize::from(b[at])] & SPACE != 0 {
            return at;
        }
        // A control byte that is not whitespace belongs to the word.
        i = at + 1;
    }
    while i < b.len() && CLASS[usize::from(b[i])] & SPACE == 0 {
        i += 1;
    }
    i
}

/// Whether the ASCII word `b[start..end]` has a run of three equal letters ("sooo"): the test that
/// rules most words out of [`SentimentScorer::elongated`] before any copy. Bytes of `b` after the
/// word are read, never counted.
///
/// Eight bytes at a time, six places per step: in `x ^ x >> 8` a byte is zero where it equals the
/// next, in `x ^ x >> 16` where it equals the one after; where both are zero a run of three
/// starts. Almost every word has none, and is ruled out in one or two steps without a branch per
/// byte; a word with one is confirmed by [`has_triple_letters`].
#[inline]
fn has_triple(b: &[u8], start: usize, end: usize) -> bool {
    if end - start < 3 {
        return false;
    }
    let mut i = start;
    let maybe = loop {
        let Some(chunk) = b.get(i..i + 8) else {
            // Too near the end of the buffer to read eight bytes: byte by byte.
            break true;
        };
        let mut x = [0u8; 8];
        x.copy_from_slice(chunk);
        let x = u64::from_le_bytes(x);
        let runs = (x ^ (x >> 8)) | (x ^ (x >> 16));
        // A run may start at the first `places` bytes of the chunk (at least one, at most six);
        // the bytes after them are made non-zero.
        let places = (end - i).min(8) - 2;
        let runs = runs | (ONES & (u64::MAX << (8 * places)));
        if runs.wrapping_sub(ONES) & !runs & HIGHS != 0 {
            break true;
        }
        if end - i <= 8 {
            break false;
        }
        i += 6;
    };
    maybe && has_triple_letters(&b[start..end])
}

/// Whether `word` has a run of three equal ASCII letters, byte by byte.
fn has_triple_letters(word: &[u8]) -> bool {
    let Some((&first, rest)) = word.split_first() else {
        return false;
    };
    let (mut prev, mut run) = (first, 1);
    for &c in rest {
        if c == prev {
            run += 1;
            // Every byte of a run is the same, so testing the third is testing them all.
            if run == 3 && c.is_ascii_alphabetic() {
                return true;
            }
        } else {
            (prev, run) = (c, 1);
        }
    }
    false
}

/// Collapses runs of three or more equal letters to `keep` letters.
fn collapse(word: &str, keep: usize) -> Option<String> {
    let mut out = String::with_capacity(word.len());
    let mut changed = false;
    let mut prev = None;
    let mut run = 0;
    for c in word.chars() {
        if Some(c) == prev {
            run += 1;
        } else {
            run = 1;
            prev = Some(c);
        }
        if run <= keep {
            out.push(c);
        } else {
            changed = true;
        }
    }
    // Only runs of 3+ count as elongation ("sooo"), not ordinary doubles ("good").
    let has_long_run = {
        let cs: Vec<char> = word.chars().collect();
        cs.windows(3)
            .any(|w| w[0] == w[1] && w[1] == w[2] && w[0].is_alphabetic())
    };
    (changed && has_long_run).then_some(out)
}

/// Splits a camel-case hashtag body ("NeverAgain") at lower-to-upper transitions; `None` if it has
/// none.
fn camel_parts(body: &str) -> Option<Vec<(usize, usize)>> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut prev_lower = false;
    for (i, c) in body.char_indices() {
        if c.is_uppercase() && prev_lower {
            parts.push((start, i));
            start = i;
        }
        prev_lower = c.is_lowercase();
    }
    if parts.is_empty() {
        return None;
    }
    parts.push((start, body.len()));
    // A part longer than any ordinary word means the tag was not written in camel case throughout
    // ("#wishIwasoutdrinking"): its split would be a guess, so the tag stays one token.
    if parts.iter().any(|(a, b)| b - a > MAX_CAMEL_PART) {
        return None;
    }
    Some(parts)
}

/// Appended to the lower-cased copy of a text (see [`SentimentScorer::score`]).
const PADDING: &str = "                ";

/// The longest part of a camel-case hashtag that is still read as a word.
const MAX_CAMEL_PART: usize = 12;

impl SentimentScorer {
    /// Builds the scorer from the bundled lexicon.
    pub fn new() -> SentimentScorer {
        let mut lexicon = FxHashMap::default();
        lexicon.reserve(7600);
        let mut cased = FxHashMap::default();
        for line in LEXICON.lines() {
            let mut cols = line.split('\t');
            if let (Some(word), Some(Ok(v))) = (cols.next(), cols.next().map(str::parse::<f32>)) {
                if word.bytes().any(|b| b.is_ascii_uppercase()) {
                    cased.insert(word.to_string(), v);
                }
                // VADER's lexicon lists a few spellings twice: first in its section of emoticons
                // and acronyms, sorted as written in capitals ("D:" horrified, "LOL", "SOB"), then
                // as ordinary lower-case words ("d:" a tongue, "lol", "sob" crying). VADER keeps
                // the last for every case; the first is the capitals' meaning.
                if let Some(first) = lexicon.insert(word, v) {
                    cased.entry(word.to_ascii_uppercase()).or_insert(first);
                }
            }
        }
        let mut emoji = FxHashMap::default();
        let mut phrases = FxHashMap::default();
        for line in OWN_LEXICON.lines().filter(|l| !l.starts_with('#')) {
            let mut cols = line.split('\t');
            let (Some(token), Some(Ok(v))) = (cols.next(), cols.next().map(str::parse::<f32>))
            else {
                continue;
            };
            if token.contains(' ') {
                phrases.insert(token, v);
            } else if token.chars().next().is_some_and(is_pictographic) {
                emoji.insert(normalise_emoji(token), v);
            } else {
                lexicon.insert(token, v);
            }
        }
        // Emoji without a valence of our own: the valence of their description's words, as VADER
        // reads them ("smiling face with heart-eyes").
        for line in EMOJI_DESCRIPTIONS.lines() {
            let Some((e, description)) = line.split_once('\t') else {
                continue;
            };
            let key = normalise_emoji(e);
            if key.is_empty() || emoji.contains_key(&key) {
                continue;
            }
            let v: f32 = description
                .split(|c: char| !c.is_alphanumeric() && c != '-')
                .filter_map(|w| lexicon.get(w.to_lowercase().as_str()))
                .sum();
            if v != 0.0 {
                emoji.insert(key, v.clamp(-4.0, 4.0));
            }
        }
        let mut words: FxHashMap<&'static str, Word> = FxHashMap::default();
        words.reserve(lexicon.len() + 64);
        for (w, v) in lexicon {
            words.entry(w).or_default().valence = Some(v);
        }
        for w in INTENSIFIERS {
            words.entry(w).or_default().booster = Some(B_INCR);
        }
        for w in DAMPENERS {
            words.entry(w).or_default().booster = Some(-B_INCR);
        }
        for w in NEGATIONS {
            words.entry(w).or_default().negation = true;
        }
        for p in phrases.keys() {
            if let Some(first) = p.split(' ').next() {
                words.entry(first).or_default().phrase_start = true;
            }
        }
        for &(w, special) in SPECIALS {
            words.entry(w).or_default().special = special;
        }
        SentimentScorer {
            words: words.into_iter().map(|(w, e)| (w, e.pack())).collect(),
            emoji,
            phrases,
            cased_starts: {
                let mut starts = [false; 256];
                for w in cased.keys() {
                    if let Some(&b) = w.as_bytes().first() {
                        starts[usize::from(b)] = true;
                    }
                }
                starts
            },
            cased: cased.iter().map(|(w, &v)| (w.as_str(), v)).collect(),
        }
    }

    fn word(&self, w: &str) -> Word {
        self.words.get(w).map(Word::unpack).unwrap_or_default()
    }

    /// Scores a text, and each of its sentences.
    pub fn score(&self, text: &str) -> Scores {
        let (mut lower, in_place) = if text.is_ascii() {
            // Lower-cased whole, in one vectorised pass: a token's lower-cased form is then at the
            // same offsets as the token itself.
            let mut lower = String::with_capacity(text.len() + 32);
            lower.push_str(text);
            lower.make_ascii_lowercase();
            // Padding, so that every word of the text has 16 bytes after its start: the word
            // table and the elongation test read them whole, and mask off what is not the word.
            lower.push_str(PADDING);
            (lower, true)
        } else {
            (String::with_capacity(text.len() + 8), false)
        };
        // On the stack for a text of tweet length.
        let mut tokens = Tokens::new();
        self.tokenize(text, &mut lower, in_place, &mut tokens);
        // A slice from here on: every access to the SmallVec itself asks where its items are.
        let tokens = tokens.as_slice();
        // One pass over the tokens for what the rules ask of the text as a whole: how many words
        // are in capitals, the sentences as token ranges (sentence numbers never decrease), and
        // the first "but" of each sentence and of the text.
        let mut caps = 0;
        let mut ranges: SmallVec<[SentenceRange; 8]> = SmallVec::new();
        let mut first_but = None;
        for (i, t) in tokens.iter().enumerate() {
            caps += usize::from(t.shouting);
            let is_but = t.special == Special::But;
            match ranges.last_mut() {
                Some(r) if r.number == t.sentence => {
                    r.end = i + 1;
                    if is_but && r.but.is_none() {
                        r.but = Some(i);
                    }
                }
                _ => ranges.push(SentenceRange {
                    start: i,
                    end: i + 1,
                    number: t.sentence,
                    but: is_but.then_some(i),
                }),
            }
            if is_but && first_but.is_none() {
                first_but = Some(i);
            }
        }
        let caps_differ = caps > 0 && caps < tokens.len();
        // The words that carry a valence, in order, with what the rules make of it: most words
        // carry none (nor does a word absorbed into a phrase), and count as 0 without a call.
        // Pushed in place: collecting would build the list elsewhere and copy it here.
        let mut message: SmallVec<[Valence; 8]> = SmallVec::new();
        for (i, t) in tokens.iter().enumerate() {
            if t.valence.is_some() {
                message.push(Valence {
                    at: i,
                    v: self.valence(tokens, i, caps_differ),
                });
            }
        }
        // Contrast, in each sentence: "but" halves what comes before it in its sentence and
        // strengthens what follows. (With one sentence this is the message's own rule below.)
        let valences = if ranges.len() > 1 {
            let mut v = message.clone();
            for r in &ranges {
                if let Some(k) = r.but {
                    but(within(&mut v, r.start, r.end), k);
                }
            }
            v
        } else {
            SmallVec::new()
        };
        // The message as VADER reads it: the first "but" of the text halves everything before it
        // and strengthens everything after it.
        if let Some(k) = first_but {
            but(&mut message, k);
        }
        // Punctuation emphasis counts the '!' and '?' of the text, and of each sentence: found
        // in one pass (memchr's vectorised search skips the bytes that are neither) and shared out
        // in order.
        let mut marks = Marks::default();
        let mut found = memchr::memchr2_iter(b'!', b'?', text.as_bytes()).peekable();
        let mut valences = valences.as_slice();
        let sentences = if ranges.len() > 1 {
            ranges
                .iter()
                .map(|r| {
                    let (a, b) = (r.start, r.end);
                    let start = tokens[a].start;
                    // The sentence runs to the next one (so its punctuation counts for it).
                    let end = tokens.get(b).map_or(text.len(), |t| t.start);
                    let mut own = Marks::default();
                    while let Some(at) = found.next_if(|&at| at < end) {
                        let bang = text.as_bytes()[at] == b'!';
                        marks.add(bang);
                        if at >= start {
                            own.add(bang);
                        }
                    }
                    // This sentence's valences are the first of those left.
                    let n = valences.iter().take_while(|v| v.at < b).count();
                    let (own_valences, rest) = valences.split_at(n);
                    valences = rest;
                    let c = normalised(own_valences, b - a, own.emphasis());
                    let compound = round3(c);
                    SentenceScore {
                        start,
                        end,
                        compound,
                        label: Label::from_compound(compound),
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        for at in found {
            marks.add(text.as_bytes()[at] == b'!');
        }
        let evidence = message
            .iter()
            .filter(|v| v.v != 0.0)
            .map(|v| Evidence {
                span: Span::new(text, tokens[v.at].start, tokens[v.at].end),
                valence: v.v,
            })
            .collect();
        let mut scores = aggregate(&message, tokens.len(), marks.emphasis(), evidence);
        scores.sentences = sentences;
        if scores.sentences.is_empty() && !tokens.is_empty() {
            scores.sentences.push(SentenceScore {
                start: tokens[0].start,
                end: text.len(),
                compound: scores.compound,
                label: scores.label,
            });
        }
        scores
    }

    /// Splits on whitespace, trims punctuation from words (keeping emoticons such as ":)" whole),
    /// splits off emoji and camel-case hashtags, and looks every token up once. `in_place`: the
    /// text is ASCII and `lower` is its lower-cased copy, so runs are found by one pass over the
    /// bytes and no word is copied.
    fn tokenize(&self, text: &str, lower: &mut String, in_place: bool, out: &mut Tokens) {
        let mut sentence = 0u32;
        for (start, end, line_break) in (Runs {
            text,
            at: 0,
            ascii: in_place,
        }) {
            // A line break between runs ends a sentence.
            if line_break && out.last().is_some_and(|t| t.sentence == sentence) {
                sentence += 1;
            }
            if in_place {
                self.push_ascii(start, end, sentence, text, lower, out);
            } else {
                let raw = &text[start..end];
                if raw.is_ascii() {
                    self.push_word(start, raw, sentence, lower, out, false);
                } else {
                    self.push_mixed(start, raw, sentence, lower, out);
                }
            }
            if matches!(text.as_bytes()[end - 1], b'.' | b'!' | b'?') {
                sentence += 1;
            }
        }
        self.resolve(text, lower, out);
        self.mark_phrases(lower, out);
    }

    /// Pushes the word of the run `text[start..end]` of an ASCII text, whose lower-cased copy is
    /// `lower` at the same offsets: what [`push_word`](Self::push_word) and
    /// [`push_token`](Self::push_token) do, over bytes, with one table lookup per byte. A hashtag
    /// (maybe several words) takes the general path.
    #[inline]
    fn push_ascii(
        &self,
        start: usize,
        end: usize,
        sentence: u32,
        text: &str,
        lower: &mut String,
        out: &mut Tokens,
    ) {
        let b = text.as_bytes();
        let (ws, we, class) = match short_run(b, start, end) {
            Some(found) => found,
            None => {
                let (ws, we) = word_in_run(text, start, end, true);
                (ws, we, class_of(&b[ws..we]))
            }
        };
        if ws == we {
            return;
        }
        if b[start] == b'#' && (ws, we) != (start, end) {
            self.push_word(start, &text[start..end], sentence, lower, out, true);
            return;
        }
        self.push_spelling(Spelling::of_class(ws, we - ws, ws, class), sentence, out);
    }

    /// Pushes the token of a word, to be looked up by [`resolve`](Self::resolve).
    #[inline(always)]
    fn push_spelling(&self, w: Spelling, sentence: u32, out: &mut Tokens) {
        out.push(Token {
            start: w.start,
            end: w.end,
            lstart: w.lstart,
            lend: w.lend,
            shouting: w.shouting,
            valence: None,
            booster: None,
            negation: false,
            sentence,
            elongated: false,
            phrase: false,
            absorbed: false,
            phrase_start: false,
            special: Special::Other,
            word: true,
            capitals: w.capitals,
            apostrophe: w.apostrophe,
            ascii: w.ascii,
        });
    }

    /// Looks every word of the text up: the lexicon entry of its lower-cased form, or of its
    /// spelling in capitals, or of its elongation collapsed ("sooo"). Done for all words after
    /// they are found, rather than as each is found: the lookups, each a likely cache miss, are
    /// then in one short loop with nothing between them, and the processor overlaps them.
    fn resolve(&self, text: &str, lower: &mut String, tokens: &mut [Token]) {
        for t in tokens.iter_mut().filter(|t| t.word) {
            let (mut lstart, mut lend) = (t.lstart, t.lend);
            let mut found = self
                .words
                .get_at(lower.as_bytes(), lstart, lend)
                .map(Word::unpack)
                .unwrap_or_default();
            if t.capitals {
                let written = text.get(t.start..t.end).unwrap_or_default();
                let first = written.as_bytes().first().copied().unwrap_or_default();
                if self.cased_starts[usize::from(first)] {
                    if let Some(v) = self.cased.get(written) {
                        found.valence = Some(v);
                    }
                }
            }
            if found.valence.is_none() && found.booster.is_none() {
                let maybe_elongated = if t.ascii {
                    has_triple(lower.as_bytes(), lstart, lend)
                } else {
                    lend - lstart >= 3
                };
                if maybe_elongated {
                    if let Some((c, e)) = self.elongated(&lower[lstart..lend]) {
                        // The collapsed form goes after everything else in `lower`.
                        lstart = lower.len();
                        lower.push_str(&c);
                        lend = lower.len();
                        found = e;
                        t.elongated = true;
                    }
                }
            }
            t.negation = found.negation || (t.apostrophe && lower[lstart..lend].contains("n't"));
            (t.lstart, t.lend) = (lstart, lend);
            t.valence = found.valence;
            t.booster = found.booster;
            t.phrase_start = found.phrase_start;
            t.special = found.special;
        }
    }

    /// A word written elongated ("sooo", "goooood"): its form with runs of three or more equal
    /// letters collapsed to two, else to one, that the lexicon knows, and what it knows of it.
    #[cold]
    fn elongated(&self, lower: &str) -> Option<(String, Word)> {
        [2, 1].into_iter().find_map(|keep| {
            let c = collapse(lower, keep)?;
            let w = self.word(&c);
            (w.valence.is_some() || w.booster.is_some()).then_some((c, w))
        })
    }

    /// Pushes the tokens of a run that is not ASCII: emoji are tokens of their own, wherever they
    /// stand; what lies between them are words.
    fn push_mixed(
        &self,
        start: usize,
        raw: &str,
        sentence: u32,
        lower: &mut String,
        out: &mut Tokens,
    ) {
        let mut pending = 0usize;
        for (i, g) in unicode_segmentation::UnicodeSegmentation::grapheme_indices(raw, true) {
            if !g.chars().next().is_some_and(is_pictographic) {
                continue;
            }
            if pending < i {
                self.push_word(
                    start + pending,
                    &raw[pending..i],
                    sentence,
                    lower,
                    out,
                    false,
                );
            }
            let key = normalise_emoji(g);
            let lstart = lower.len();
            lower.push_str(&key);
            out.push(Token {
                start: start + i,
                end: start + i + g.len(),
                lstart,
                lend: lower.len(),
                shouting: false,
                valence: self.emoji.get(&key).copied(),
                booster: None,
                negation: false,
                sentence,
                elongated: false,
                phrase: false,
                absorbed: false,
                phrase_start: false,
                special: Special::Other,
                word: false,
                capitals: false,
                apostrophe: false,
                ascii: false,
            });
            pending = i + g.len();
        }
        if pending < raw.len() {
            self.push_word(
                start + pending,
                &raw[pending..],
                sentence,
                lower,
                out,
                false,
            );
        }
    }

    /// Pushes the word(s) of one run (a hashtag may be several words). `in_place`: `lower` is the
    /// lower-cased text, so a word's lower-cased form is at the word's own offsets; otherwise each
    /// word's is appended to `lower`.
    fn push_word(
        &self,
        start: usize,
        raw: &str,
        sentence: u32,
        lower: &mut String,
        out: &mut Tokens,
        in_place: bool,
    ) {
        let (offset, word_end) = word_in_run(raw, 0, raw.len(), false);
        let word = &raw[offset..word_end];
        if word.is_empty() {
            return;
        }
        let at = start + offset;
        if raw.starts_with('#') && word != raw {
            if let Some(parts) = camel_parts(word) {
                let in_lexicon = if in_place {
                    self.word(&lower[at..at + word.len()]).valence.is_some()
                } else {
                    self.word(&word.to_lowercase()).valence.is_some()
                };
                if !in_lexicon {
                    for (a, b) in parts {
                        self.push_token(at + a, &word[a..b], sentence, lower, out, in_place);
                    }
                    return;
                }
            }
        }
        self.push_token(at, word, sentence, lower, out, in_place);
    }

    fn push_token(
        &self,
        start: usize,
        word: &str,
        sentence: u32,
        lower: &mut String,
        out: &mut Tokens,
        in_place: bool,
    ) {
        let lstart = if in_place { start } else { lower.len() };
        let spelling = if word.is_ascii() {
            // Lower-cased as a block.
            if !in_place {
                lower.push_str(word);
                lower[lstart..].make_ascii_lowercase();
            }
            Spelling::ascii(start, word.as_bytes(), lstart)
        } else {
            lower.extend(word.chars().flat_map(char::to_lowercase));
            let l = &lower.as_bytes()[lstart..];
            Spelling {
                start,
                end: start + word.len(),
                lstart,
                lend: lower.len(),
                shouting: is_shouting(word),
                apostrophe: l.contains(&b'\''),
                capitals: false,
                ascii: false,
            }
        };
        self.push_spelling(spelling, sentence, out);
    }

    /// Finds phrases of the phrase lexicon (three words first, then two) within sentences.
    fn mark_phrases(&self, lower: &str, tokens: &mut [Token]) {
        if self.phrases.is_empty() {
            return;
        }
        // Allocated on the first phrase start, which most texts do not have.
        let mut key = String::new();
        let mut i = 0;
        while i < tokens.len() {
            let mut matched = 0;
            if !tokens[i].phrase_start {
                i += 1;
                continue;
            }
            for n in [3usize, 2] {
                if i + n > tokens.len() || tokens[i + n - 1].sentence != tokens[i].sentence {
                    continue;
                }
                key.clear();
                for (k, t) in tokens[i..i + n].iter().enumerate() {
                    if k > 0 {
                        key.push(' ');
                    }
                    key.push_str(&lower[t.lstart..t.lend]);
                }
                if let Some(&v) = self.phrases.get(key.as_str()) {
                    for t in &mut tokens[i..i + n - 1] {
                        t.absorbed = true;
                        t.valence = None;
                        t.booster = None;
                        t.negation = false;
                    }
                    let last = &mut tokens[i + n - 1];
                    last.phrase = true;
                    last.valence = Some(v);
                    last.booster = None;
                    matched = n;
                    break;
                }
            }
            i += matched.max(1);
        }
    }

    fn valence(&self, tokens: &[Token], i: usize, caps_differ: bool) -> f32 {
        let t = &tokens[i];
        if t.absorbed {
            return 0.0;
        }
        if t.phrase {
            // A phrase means what the phrase lexicon says, whatever its words would.
            let v = t.valence.unwrap_or(0.0);
            return if caps_differ && t.shouting {
                v + v.signum() * CAPS_INCR
            } else {
                v
            };
        }
        use Special::*;
        let w = |k: usize| tokens[i - k].special;
        let this = t.special;
        if t.booster.is_some() {
            return 0.0;
        }
        let next = tokens.get(i + 1);
        if this == Kind && next.is_some_and(|n| n.special == Of) {
            return 0.0;
        }
        let Some(base) = t.valence else {
            return 0.0;
        };
        // "no" as a determiner before a sentiment word carries no sentiment itself.
        if this == No && next.is_some_and(|n| n.valence.is_some()) {
            return 0.0;
        }
        let mut v = base;
        if (i > 0 && w(1) == No)
            || (i > 1 && w(2) == No)
            || (i > 2 && w(3) == No && matches!(w(1), Or | Nor))
        {
            v = base * NEGATION;
        }
        if caps_differ && t.shouting {
            v += if v > 0.0 { CAPS_INCR } else { -CAPS_INCR };
        }
        if t.elongated {
            v += if v > 0.0 { B_INCR } else { -B_INCR };
        }
        // A word is negated once, by its nearest negation: in "don't care, don't care" the second
        // "care" is negated by its own "don't", not negated back by the first. (VADER applies
        // every negation within three words, each flipping the sign again.)
        let mut negated = false;
        for back in 1..=3usize {
            if i < back {
                break;
            }
            let prev = &tokens[i - back];
            if prev.valence.is_some() {
                continue;
            }
            let mut s = match prev.booster {
                Some(b) => {
                    let mut s = if v < 0.0 { -b } else { b };
                    if caps_differ && prev.shouting {
                        s += if v > 0.0 { CAPS_INCR } else { -CAPS_INCR };
                    }
                    s
                }
                None => 0.0,
            };
            if back == 2 {
                s *= 0.95;
            } else if back == 3 {
                s *= 0.9;
            }
            v += s;
            let (after, negates) = negation(v, tokens, &w, back, i);
            if !(negates && negated) {
                v = after;
            }
            negated |= negates;
        }
        // "least": "the least helpful" flips; "at least" does not.
        if i > 0 && w(1) == Least && !(i > 1 && matches!(w(2), At | Very)) {
            v *= NEGATION;
        }
        v
    }
}

/// The negation (or emphasis) rule for the word `back` places before word `i`: the valence it
/// makes, and whether that is a negation.
fn negation(
    v: f32,
    tokens: &[Token],
    w: &impl Fn(usize) -> Special,
    back: usize,
    i: usize,
) -> (f32, bool) {
    use Special::*;
    let neg = |k: usize| tokens[i - k].negation;
    match back {
        1 if neg(1) => (v * NEGATION, true),
        2 if w(2) == Never && matches!(w(1), So | This) => (v * 1.25, false),
        2 if w(2) == Without && w(1) == Doubt => (v, false),
        2 if neg(2) => (v * NEGATION, true),
        // As VADER 3.3.2 evaluates it (its operator precedence): "never so/this X", and also any
        // "so X" or "this X" three words in, is emphasis. Kept: it reads "so honest" and "haven't
        // been this sore" as stronger, which they are.
        3 if (w(3) == Never && matches!(w(2), So | This)) || matches!(w(1), So | This) => {
            (v * 1.25, false)
        }
        3 if w(3) == Without && (w(2) == Doubt || w(1) == Doubt) => (v, false),
        3 if neg(3) => (v * NEGATION, true),
        _ => (v, false),
    }
}

fn is_shouting(w: &str) -> bool {
    if w.is_ascii() {
        let b = w.as_bytes();
        return b.iter().any(u8::is_ascii_uppercase) && !b.iter().any(u8::is_ascii_lowercase);
    }
    w.chars().any(char::is_alphabetic) && !w.chars().any(char::is_lowercase)
}

/// A word's valence after the rules: `v` of the token at `at`. A text's valences are kept for the
/// words that have one, in order; every other word counts 0.
#[derive(Debug, Clone, Copy)]
struct Valence {
    at: usize,
    v: f32,
}

/// The valences of tokens `a..b`, of valences in token order.
fn within(valences: &mut [Valence], a: usize, b: usize) -> &mut [Valence] {
    let from = valences.partition_point(|v| v.at < a);
    let to = valences.partition_point(|v| v.at < b);
    &mut valences[from..to]
}

/// The contrastive "but" of token `k`: what comes before it counts half, what follows half again
/// as much.
fn but(valences: &mut [Valence], k: usize) {
    for v in valences {
        if v.at < k {
            v.v *= 0.5;
        } else if v.at > k {
            v.v *= 1.5;
        }
    }
}

/// The sum of the valences of `words` words (the others count 0), pushed away from zero by the
/// punctuation emphasis, normalised to -1..1 (VADER's alpha of 15).
fn normalised(valences: &[Valence], words: usize, emphasis: f32) -> f32 {
    let mut sum = sum(valences, words);
    if sum > 0.0 {
        sum += emphasis;
    } else if sum < 0.0 {
        sum -= emphasis;
    }
    (sum / (sum * sum + 15.0).sqrt()).clamp(-1.0, 1.0)
}

/// The sum, in token order, of the valences of `words` words, the others counting 0: bit for bit
/// the sum over every word. Adding a word's 0 (a positive zero) changes a sum only when it is a
/// negative zero, which the sum over every word starts from; so the sum starts there only when
/// every word has a valence.
fn sum(valences: &[Valence], words: usize) -> f32 {
    let start = if valences.len() == words { -0.0 } else { 0.0 };
    valences.iter().fold(start, |s, v| s + v.v)
}

/// `x` rounded to three decimals, as scores are reported.
pub(crate) fn round3(x: f32) -> f32 {
    round(x * 1000.0) / 1000.0
}

/// [`f32::round`] (half away from zero) without its call to libm's `roundf`, which baseline
/// x86-64 has no instruction for; a scoring call rounds five numbers or more. From 0.5 up to
/// 2^22 in magnitude, adding a half is exact or, where it rounds, does not cross an integer, so
/// truncating the sum rounds; below 0.5 the result is zero, with the sign of `y`.
#[inline]
fn round(y: f32) -> f32 {
    let magnitude = y.abs();
    if magnitude < 0.5 {
        0.0f32.copysign(y)
    } else if magnitude < 4_194_304.0 {
        (y + 0.5f32.copysign(y)) as i32 as f32
    } else {
        // Already an integer, or not a number.
        y.round()
    }
}

/// A sentence of a text, as the range `start..end` of its tokens.
#[derive(Debug, Clone, Copy)]
struct SentenceRange {
    start: usize,
    end: usize,
    /// The tokens' sentence number.
    number: u32,
    /// Its first "but", if any.
    but: Option<usize>,
}

/// The '!' and '?' of a text or a sentence.
#[derive(Debug, Clone, Copy, Default)]
struct Marks {
    bangs: usize,
    questions: usize,
}

impl Marks {
    fn add(&mut self, bang: bool) {
        if bang {
            self.bangs += 1;
        } else {
            self.questions += 1;
        }
    }

    /// VADER's punctuation emphasis: 0.292 per '!' up to four; two or three '?' add 0.18 each,
    /// more add 0.96.
    fn emphasis(self) -> f32 {
        let bangs = self.bangs.min(4) as f32 * 0.292;
        let q = match self.questions {
            0 | 1 => 0.0,
            n @ (2 | 3) => n as f32 * 0.18,
            _ => 0.96,
        };
        bangs + q
    }
}

/// The message's scores from the valences of its `words` words (see [`Valence`]).
fn aggregate(valences: &[Valence], words: usize, emphasis: f32, evidence: Vec<Evidence>) -> Scores {
    if words == 0 {
        return Scores {
            compound: 0.0,
            lexicon_compound: 0.0,
            positive: 0.0,
            neutral: 0.0,
            negative: 0.0,
            label: Label::Neutral,
            evidence,
            sentences: Vec::new(),
        };
    }
    let compound = normalised(valences, words, emphasis);
    // Every word without a valence is neutral.
    let (mut pos, mut neg, mut neutral_words) = (0.0f32, 0.0f32, words - valences.len());
    for &Valence { v, .. } in valences {
        if v > 0.0 {
            pos += v + 1.0;
        } else if v < 0.0 {
            neg += v - 1.0;
        } else {
            neutral_words += 1;
        }
    }
    let neu = neutral_words as f32;
    if pos > neg.abs() {
        pos += emphasis;
    } else if pos < neg.abs() {
        neg -= emphasis;
    }
    let total = pos + neg.abs() + neu;
    Scores {
        compound: round3(compound),
        lexicon_compound: round3(compound),
        positive: round3(pos / total),
        neutral: round3(neu / total),
        negative: round3(neg.abs() / total),
        label: Label::from_compound(compound),
        evidence,
        sentences: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sum_of_the_valences_is_the_sum_over_every_word() {
        // Every list of up to five words, each without a valence (a positive zero) or with one
        // of a few values, signed zeros among them: the sum of the valences is the sum over
        // every word, bit for bit.
        let values = [
            None,
            Some(0.0f32),
            Some(-0.0),
            Some(1.5),
            Some(-1.5),
            Some(0.1),
        ];
        for n in 0..=5u32 {
            for code in 0..values.len().pow(n) {
                let (mut every, mut valences) = (Vec::new(), Vec::new());
                let mut c = code;
                for at in 0..n as usize {
                    let value = values[c % values.len()];
                    c /= values.len();
                    every.push(value.unwrap_or(0.0));
                    if let Some(v) = value {
                        valences.push(Valence { at, v });
                    }
                }
                let expected: f32 = every.iter().sum();
                assert_eq!(
                    sum(&valences, every.len()).to_bits(),
                    expected.to_bits(),
                    "{every:?}"
                );
            }
        }
    }

    #[test]
    fn round_is_f32_round() {
        // Every 251st bit pattern of the positive and negative floats, and the halves and their
        // neighbours, where rounding half away from zero differs from the other rules.
        let sampled = (0..u32::MAX / 251).map(|k| f32::from_bits(k * 251));
        let halves = (-5000..5000).flat_map(|k| {
            let h = k as f32 + 0.5;
            [
                h,
                f32::from_bits(h.to_bits() - 1),
                f32::from_bits(h.to_bits() + 1),
            ]
        });
        let special = [0.0, -0.0, 4_194_303.5, 4_194_304.0, f32::INFINITY, f32::MIN];
        for y in sampled.chain(halves).chain(special) {
            assert_eq!(round(y).to_bits(), y.round().to_bits(), "{y:e}");
        }
        assert!(round(f32::NAN).is_nan());
    }

    #[test]
    fn a_packed_word_unpacks_to_itself() {
        for special in SPECIAL_BY_INDEX {
            for valence in [None, Some(0.0), Some(-0.0), Some(2.5), Some(-3.9)] {
                for booster in [None, Some(B_INCR), Some(-B_INCR)] {
                    for (negation, phrase_start) in [(false, false), (true, false), (false, true)] {
                        let w = Word {
                            valence,
                            booster,
                            negation,
                            phrase_start,
                            special,
                        };
                        let u = Word::unpack(w.pack());
                        assert_eq!(u.valence.map(f32::to_bits), valence.map(f32::to_bits));
                        assert_eq!(u.booster, booster);
                        assert_eq!((u.negation, u.phrase_start), (negation, phrase_start));
                        assert_eq!(u.special, special);
                    }
                }
            }
        }
        assert_eq!(SPECIAL_BY_INDEX.len(), Special::Doubt as usize + 1);
        for (i, s) in SPECIAL_BY_INDEX.iter().enumerate() {
            assert_eq!(*s as usize, i, "SPECIAL_BY_INDEX is in the enum's order");
        }
    }

    #[test]
    fn has_triple_agrees_with_the_byte_loop() {
        // Every word of up to 9 bytes over a small alphabet (letters, a digit, punctuation), at
        // every place of a buffer, with bytes after it that would make a run if they counted.
        let alphabet = [b'o', b'x', b'0', b'!'];
        let mut word = Vec::new();
        for n in 0..=9u32 {
            for code in 0..alphabet.len().pow(n) {
                word.clear();
                let mut c = code;
                for _ in 0..n {
                    word.push(alphabet[c % alphabet.len()]);
                    c /= alphabet.len();
                }
                let expected = has_triple_letters(&word);
                for pad in [0usize, 3, 20] {
                    let mut buf = word.clone();
                    buf.extend(std::iter::repeat_n(
                        word.last().copied().unwrap_or(b'o'),
                        pad,
                    ));
                    assert_eq!(
                        has_triple(&buf, 0, word.len()),
                        expected,
                        "{word:?} pad {pad}"
                    );
                    let mut shifted = b"oo".to_vec();
                    shifted.extend_from_slice(&buf);
                    assert_eq!(
                        has_triple(&shifted, 2, 2 + word.len()),
                        expected,
                        "{word:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn short_run_finds_what_the_loops_find() {
        // Every run of up to 5 bytes over an alphabet of letters, digits, punctuation (apostrophe
        // included), control bytes and DEL, and longer runs repeating them, up to 18 bytes: each
        // at the start of a text with 16 bytes after it, and at its end.
        let alphabet = [
            b'a', b'Z', b'7', b'\'', b'!', b'.', b')', b':', 0x01, 0x7f, b'#',
        ];
        let kept = UPPER | LOWER | APOSTROPHE | SYMBOL;
        let mut checked = 0;
        for_strings_over(&alphabet, 18, |run| {
            if run.is_empty() {
                return;
            }
            let text = String::from_utf8([run, b" after the run!!"].concat()).unwrap();
            let end = run.len();
            let (ws, we) = word_in_run(&text, 0, end, true);
            let class = class_of(&text.as_bytes()[ws..we]);
            let found = short_run(text.as_bytes(), 0, end);
            if end <= 16 {
                let (fs, fe, fc) = found.expect("a short run is classified");
                assert_eq!((fs, fe, fc & kept), (ws, we, class & kept), "{run:?}");
                checked += 1;
            } else {
                assert_eq!(found, None, "{run:?}");
            }
            // At the end of a text: with fewer than 16 bytes, the loops answer.
            match short_run(&text.as_bytes()[..end], 0, end) {
                Some((fs, fe, fc)) => {
                    assert_eq!(end, 16);
                    assert_eq!((fs, fe, fc & kept), (ws, we, class & kept), "{run:?}");
                }
                None => assert_ne!(end, 16, "{run:?}"),
            }
        });
        assert!(checked > 100_000, "{checked}");
    }

    /// Calls `f` with every string of up to five bytes over `alphabet`, and with longer ones up
    /// to `max` bytes that repeat their first five, so that long strings stay few.
    fn for_strings_over(alphabet: &[u8], max: u32, mut f: impl FnMut(&[u8])) {
        let mut text = Vec::new();
        for n in 0..=max {
            for code in 0..alphabet.len().pow(n.min(5)) {
                text.clear();
                let mut c = code;
                for k in 0..n as usize {
                    let byte = if k < 5 {
                        alphabet[c % alphabet.len()]
                    } else {
                        text[k - 5]
                    };
                    text.push(byte);
                    c /= alphabet.len();
                }
                f(&text);
            }
        }
    }

    #[test]
    fn word_end_finds_the_first_whitespace_as_a_byte_loop_does() {
        // Every string of up to 10 bytes over an alphabet with whitespace, control bytes that are
        // not whitespace (vertical tab, NUL, 0x20's neighbours) and letters, from every start.
        let alphabet = [b'a', b' ', b'\n', b'\x0b', 0, b'!', b'\x1f', b'\t', b'Z'];
        for_strings_over(&alphabet, 10, |text| {
            for start in 0..=text.len() {
                let mut expect = start;
                while expect < text.len() && !text[expect].is_ascii_whitespace() {
                    expect += 1;
                }
                assert_eq!(word_end(text, start), expect, "{text:?} from {start}");
            }
        });
    }

    fn c(text: &str) -> f32 {
        SentimentScorer::new().score(text).compound
    }

    #[test]
    fn polarity_and_rules() {
        assert!(c("I love this phone") > 0.5);
        assert!(c("I hate this phone") < -0.5);
        assert!(c("I do not love this phone") < 0.0, "negation flips");
        assert!(
            c("I love this phone!!!") > c("I love this phone"),
            "emphasis"
        );
        assert!(
            c("I really love this phone") > c("I love this phone"),
            "booster"
        );
        assert!(c("I LOVE this phone") > c("I love this phone"), "caps");
        assert!(
            c("The screen is nice but the battery is awful") < 0.0,
            "but"
        );
        assert_eq!(c("The box is on the table"), 0.0);
        assert_eq!(c(""), 0.0);
    }

    #[test]
    fn emoji_are_whole_graphemes_whatever_their_skin_tone() {
        let s = SentimentScorer::new();
        assert!(
            c("great phone😍") > c("great phone"),
            "glued emoji split off"
        );
        let plain = s.score("thanks 👍").compound;
        assert!(plain > 0.0);
        assert_eq!(
            s.score("thanks 👍🏽").compound,
            plain,
            "skin tone does not change meaning"
        );
        assert!(c("the update 😡") < 0.0);
        // A ZWJ sequence falls back to its first emoji.
        assert!(c("support 🤦\u{200d}\u{2642}\u{fe0f}") < 0.0);
        let e = s.score("the 👍🏽");
        assert_eq!(e.evidence[0].span.text, "👍🏽");
    }

    #[test]
    fn a_word_is_negated_once_by_its_nearest_negation() {
        // VADER negates the second "care" twice (its own "don't" and the first one) and reads the
        // repetition as positive.
        assert!(c("DON'T CARE DON'T CARE DON'T CARE") < -0.5);
        assert!(c("I don't care, don't care") < 0.0);
        // A negation still reaches past a word that is not negated by another.
        assert!(c("not sure I'm winning") < 0.0);
        assert!(c("not good") < 0.0);
    }

    #[test]
    fn capitals_the_lexicon_tells_apart_are_read_as_written() {
        // "D:" is a horrified face; "d:" (listed last in VADER's lexicon) a tongue.
        assert!(c("D: D: D:") < -0.5);
        assert!(c("d:") > 0.0);
        // "SOB" is an insult, "sob" crying; "LOL" laughs harder than "lol".
        assert!(c("you SOB") < c("I sob"));
        assert!(c("LOL") > c("lol"));
        assert!(c("lol") > 0.0);
        // Capitalised ordinary words are not looked up twice into something else.
        assert_eq!(c("Good"), c("good"));
    }

    #[test]
    fn elongations_hashtags_and_support_phrases() {
        assert!(c("this is goooood") > 0.0);
        assert!(
            c("this is goooood") > c("this is good"),
            "elongation is emphasis"
        );
        assert!(
            c("sooo bad") < c("bad"),
            "an elongated booster still boosts"
        );
        assert!(
            c("Billing again #NeverAgain") < 0.0,
            "camel-case hashtag split"
        );
        assert!(c("still waiting for an engineer") < 0.0);
        assert!(c("on hold for an hour") < 0.0);
        assert!(c("the app is not working") < 0.0);
        assert!(c("no complaints so far") > 0.0);
        assert!(c("no problems at all") > 0.0);
        assert!(c("not bad") > 0.0);
        assert!(c("third outage this week") < 0.0);
    }

    #[test]
    fn sentences_are_scored_on_their_own() {
        let s = SentimentScorer::new()
            .score("The engineer was great. The billing is a disaster!\nStill waiting");
        let labels: Vec<_> = s.sentences.iter().map(|x| x.label).collect();
        assert_eq!(labels, [Label::Positive, Label::Negative, Label::Negative]);
        assert_eq!(s.sentence_at(5).map(|x| x.label), Some(Label::Positive));
    }

    #[test]
    fn evidence_points_at_the_words() {
        let text = "The update was great, thanks";
        let s = SentimentScorer::new().score(text);
        let words: Vec<_> = s.evidence.iter().map(|e| e.span.text.as_str()).collect();
        assert_eq!(words, ["great", "thanks"]);
        assert_eq!(
            &text[s.evidence[0].span.start..s.evidence[0].span.end],
            "great"
        );
    }

    #[test]
    fn message_but_is_vaders_and_sentence_but_stays_in_its_sentence() {
        let s = SentimentScorer::new().score("Support was great. But the app crashes daily");
        // The message: the first "but" halves everything before it, as VADER does.
        assert!(s.compound < 0.0, "{}", s.compound);
        // Its sentences: the first keeps its own praise.
        assert_eq!(s.sentences[0].label, Label::Positive);
        assert_eq!(s.sentences[1].label, Label::Negative);
    }

    #[test]
    fn camel_case_tags_split_only_into_words() {
        // "#wishIwasoutdrinking" would split into "wish" (positive) and a run-on: it stays whole.
        assert!(c("still at work :-( #wishIwasoutdrinkingandsmoking") < 0.0);
        assert!(c("#TotalFail") < 0.0, "ordinary camel case still splits");
        assert!(
            c("this is bad ass") > 0.0,
            "a compound written as two words"
        );
    }

    #[test]
    fn so_and_this_before_a_word_are_emphasis() {
        assert!(c("the film is so honest") > c("the film is honest"));
        assert!(c("haven't been this sore in a while") < 0.0);
    }
}
