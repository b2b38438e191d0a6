//! The lexicons and what they say of one word: VADER's word and emoji lexicons, earshot's support
//! lexicon and phrases, the negations and boosters, and the few words the rules name, packed into
//! one table entry per word ([`PackedWord`]).

use super::*;

pub(super) const LEXICON: &str = include_str!("../../../data/vader/vader_lexicon.txt");
pub(super) const EMOJI_DESCRIPTIONS: &str =
    include_str!("../../../data/vader/emoji_utf8_lexicon.txt");
pub(super) const OWN_LEXICON: &str = include_str!("../../../data/earshot/support_lexicon.tsv");

/// Added to or taken from a booster's effect when the booster is in ALL CAPS.
pub(super) const CAPS_INCR: f32 = 0.733;
/// Booster effect.
pub(super) const B_INCR: f32 = 0.293;
/// Multiplier applied to a negated valence.
pub(super) const NEGATION: f32 = -0.74;

pub(super) const NEGATIONS: &[&str] = &[
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

pub(super) const INTENSIFIERS: &[&str] = &[
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

pub(super) const DAMPENERS: &[&str] = &[
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

/// What the lexicons say of one word.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Word {
    pub(super) valence: Option<f32>,
    /// Booster effect (positive intensifier, negative dampener).
    pub(super) booster: Option<f32>,
    pub(super) negation: bool,
    /// First word of a phrase of the phrase lexicon: most tokens start none and skip that lookup.
    pub(super) phrase_start: bool,
    /// One of the few words the rules name, found by the same lookup.
    pub(super) special: Special,
}

/// A [`Word`] in eight bytes: the valence's bits in the low half; above them, whether it has one,
/// the booster (two bits), negation, phrase start and the special word's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PackedWord(pub(super) u64);

pub(super) const HAS_VALENCE: u64 = 1 << 32;
pub(super) const INTENSIFIER: u64 = 1 << 33;
pub(super) const DAMPENER: u64 = 1 << 34;
pub(super) const NEGATES: u64 = 1 << 35;
pub(super) const STARTS_PHRASE: u64 = 1 << 36;
pub(super) const SPECIAL_SHIFT: u32 = 40;

impl Word {
    /// Packs the word. A booster is an intensifier or a dampener, of effect [`B_INCR`].
    pub(super) fn pack(self) -> PackedWord {
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
    pub(super) fn unpack(p: PackedWord) -> Word {
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
pub(super) enum Special {
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
    pub(super) fn from_index(i: u8) -> Special {
        SPECIAL_BY_INDEX
            .get(usize::from(i))
            .copied()
            .unwrap_or(Special::Other)
    }
}

/// Every special word, by its number.
pub(super) const SPECIAL_BY_INDEX: [Special; 15] = {
    use Special::*;
    [
        Other, But, Kind, Of, No, Or, Nor, Least, At, Very, So, This, Never, Without, Doubt,
    ]
};

pub(super) const SPECIALS: &[(&str, Special)] = &[
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

    pub(super) fn word(&self, w: &str) -> Word {
        self.words.get(w).map(Word::unpack).unwrap_or_default()
    }
}
