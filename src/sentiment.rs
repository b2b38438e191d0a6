//! Lexicon-and-rules sentiment in the manner of VADER (Hutto & Gilbert, 2014), built on its MIT
//! lexicon (`data/vader/`): negation, boosters, contrastive "but", ALL-CAPS emphasis, punctuation
//! emphasis and "least". The scorer is a value built once and shared; scoring allocates only the
//! token list.

use rustc_hash::{FxHashMap, FxHashSet};

use serde::{Deserialize, Serialize};

use crate::span::Span;

const LEXICON: &str = include_str!("../data/vader/vader_lexicon.txt");

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
    /// Normalised sum of valences, -1..1.
    pub compound: f32,
    pub positive: f32,
    pub neutral: f32,
    pub negative: f32,
    pub label: Label,
    pub evidence: Vec<Evidence>,
}

/// The sentiment scorer: the lexicon and the rules.
#[derive(Debug, Clone)]
pub struct SentimentScorer {
    /// Keys borrow from the embedded lexicon file: building the scorer allocates no strings.
    lexicon: FxHashMap<&'static str, f32>,
    boosters: FxHashMap<&'static str, f32>,
    negations: FxHashSet<&'static str>,
}

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
}

impl SentimentScorer {
    /// Builds the scorer from the bundled lexicon.
    pub fn new() -> SentimentScorer {
        let mut lexicon = FxHashMap::default();
        lexicon.reserve(7600);
        for line in LEXICON.lines() {
            let mut cols = line.split('\t');
            if let (Some(word), Some(Ok(v))) = (cols.next(), cols.next().map(str::parse::<f32>)) {
                lexicon.insert(word, v);
            }
        }
        let boosters = INTENSIFIERS
            .iter()
            .map(|w| (*w, B_INCR))
            .chain(DAMPENERS.iter().map(|w| (*w, -B_INCR)))
            .collect();
        SentimentScorer {
            lexicon,
            boosters,
            negations: NEGATIONS.iter().copied().collect(),
        }
    }

    /// Scores a text.
    pub fn score(&self, text: &str) -> Scores {
        let mut lower = String::with_capacity(text.len());
        let tokens = self.tokenize(text, &mut lower);
        let word = |t: &Token| &lower[t.lstart..t.lend];
        let caps_differ = {
            let caps = tokens.iter().filter(|t| t.shouting).count();
            caps > 0 && caps < tokens.len()
        };
        let mut valences: Vec<f32> = (0..tokens.len())
            .map(|i| self.valence(&tokens, &lower, i, caps_differ))
            .collect();
        // Contrast: "but" halves what comes before and strengthens what comes after.
        if let Some(b) = tokens.iter().position(|t| word(t) == "but") {
            for (i, v) in valences.iter_mut().enumerate() {
                if i < b {
                    *v *= 0.5;
                } else if i > b {
                    *v *= 1.5;
                }
            }
        }
        let evidence = tokens
            .iter()
            .zip(&valences)
            .filter(|(_, v)| **v != 0.0)
            .map(|(t, v)| Evidence {
                span: Span::new(text, t.start, t.end),
                valence: *v,
            })
            .collect();
        aggregate(&valences, text, evidence)
    }

    /// Splits on whitespace, trims punctuation from words (keeping emoticons such as ":)" whole) and
    /// looks every token up once.
    fn tokenize(&self, text: &str, lower: &mut String) -> Vec<Token> {
        let mut out = Vec::with_capacity(text.len() / 5 + 1);
        for raw in text.split_whitespace() {
            let start = raw.as_ptr() as usize - text.as_ptr() as usize;
            let trimmed = raw.trim_matches(|c: char| c.is_ascii_punctuation());
            let (word, offset) = if trimmed.chars().count() <= 2 {
                (raw, 0)
            } else {
                (trimmed, trimmed.as_ptr() as usize - raw.as_ptr() as usize)
            };
            if word.is_empty() {
                continue;
            }
            let lstart = lower.len();
            if word.is_ascii() {
                lower.extend(word.bytes().map(|b| char::from(b.to_ascii_lowercase())));
            } else {
                lower.extend(word.chars().flat_map(char::to_lowercase));
            }
            let lend = lower.len();
            let l = &lower[lstart..lend];
            out.push(Token {
                start: start + offset,
                end: start + offset + word.len(),
                lstart,
                lend,
                shouting: is_shouting(word),
                valence: self.lexicon.get(l).copied(),
                booster: self.boosters.get(l).copied(),
                negation: self.negations.contains(l) || l.contains("n't"),
            });
        }
        out
    }

    fn valence(&self, tokens: &[Token], lower: &str, i: usize, caps_differ: bool) -> f32 {
        let t = &tokens[i];
        let w = |k: usize| {
            let t = &tokens[i - k];
            &lower[t.lstart..t.lend]
        };
        let this = w(0);
        if t.booster.is_some() {
            return 0.0;
        }
        let next = tokens.get(i + 1);
        if this == "kind" && next.is_some_and(|n| &lower[n.lstart..n.lend] == "of") {
            return 0.0;
        }
        let Some(base) = t.valence else {
            return 0.0;
        };
        // "no" as a determiner before a sentiment word carries no sentiment itself.
        if this == "no" && next.is_some_and(|n| n.valence.is_some()) {
            return 0.0;
        }
        let mut v = base;
        if (i > 0 && w(1) == "no")
            || (i > 1 && w(2) == "no")
            || (i > 2 && w(3) == "no" && matches!(w(1), "or" | "nor"))
        {
            v = base * NEGATION;
        }
        if caps_differ && t.shouting {
            v += if v > 0.0 { CAPS_INCR } else { -CAPS_INCR };
        }
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
            v = negation(v, tokens, &w, back, i);
        }
        // "least": "the least helpful" flips; "at least" does not.
        if i > 0 && w(1) == "least" && !(i > 1 && matches!(w(2), "at" | "very")) {
            v *= NEGATION;
        }
        v
    }
}

fn negation<'a>(
    v: f32,
    tokens: &[Token],
    w: &impl Fn(usize) -> &'a str,
    back: usize,
    i: usize,
) -> f32 {
    let neg = |k: usize| tokens[i - k].negation;
    match back {
        1 if neg(1) => v * NEGATION,
        2 if w(2) == "never" && matches!(w(1), "so" | "this") => v * 1.25,
        2 if w(2) == "without" && w(1) == "doubt" => v,
        2 if neg(2) => v * NEGATION,
        3 if w(3) == "never"
            && (matches!(w(2), "so" | "this") || matches!(w(1), "so" | "this")) =>
        {
            v * 1.25
        }
        3 if w(3) == "without" && (w(2) == "doubt" || w(1) == "doubt") => v,
        3 if neg(3) => v * NEGATION,
        _ => v,
    }
}

fn is_shouting(w: &str) -> bool {
    w.chars().any(char::is_alphabetic) && !w.chars().any(char::is_lowercase)
}

fn aggregate(valences: &[f32], text: &str, evidence: Vec<Evidence>) -> Scores {
    if valences.is_empty() {
        return Scores {
            compound: 0.0,
            positive: 0.0,
            neutral: 0.0,
            negative: 0.0,
            label: Label::Neutral,
            evidence,
        };
    }
    let emphasis = {
        let bangs = text.matches('!').count().min(4) as f32 * 0.292;
        let qs = text.matches('?').count();
        let q = match qs {
            0 | 1 => 0.0,
            2 | 3 => qs as f32 * 0.18,
            _ => 0.96,
        };
        bangs + q
    };
    let mut sum: f32 = valences.iter().sum();
    if sum > 0.0 {
        sum += emphasis;
    } else if sum < 0.0 {
        sum -= emphasis;
    }
    let compound = (sum / (sum * sum + 15.0).sqrt()).clamp(-1.0, 1.0);
    let (mut pos, mut neg, mut neu) = (0.0f32, 0.0f32, 0.0f32);
    for &v in valences {
        if v > 0.0 {
            pos += v + 1.0;
        } else if v < 0.0 {
            neg += v - 1.0;
        } else {
            neu += 1.0;
        }
    }
    if pos > neg.abs() {
        pos += emphasis;
    } else if pos < neg.abs() {
        neg -= emphasis;
    }
    let total = pos + neg.abs() + neu;
    let round = |x: f32| (x * 1000.0).round() / 1000.0;
    Scores {
        compound: round(compound),
        positive: round(pos / total),
        neutral: round(neu / total),
        negative: round(neg.abs() / total),
        label: Label::from_compound(compound),
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
