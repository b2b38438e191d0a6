//! Lexicon-and-rules sentiment in the manner of VADER (Hutto & Gilbert, 2014), built on its MIT
//! lexicon (`data/vader/`): negation, boosters, contrastive "but", ALL-CAPS emphasis, punctuation
//! emphasis and "least". The scorer is a value built once and shared; scoring allocates only the
//! token list.

use std::collections::HashMap;

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
    lexicon: HashMap<String, f32>,
    boosters: HashMap<&'static str, f32>,
}

impl Default for SentimentScorer {
    fn default() -> Self {
        Self::new()
    }
}

struct Token<'a> {
    text: &'a str,
    lower: String,
    start: usize,
}

impl SentimentScorer {
    /// Builds the scorer from the bundled lexicon.
    pub fn new() -> SentimentScorer {
        let mut lexicon = HashMap::with_capacity(7600);
        for line in LEXICON.lines() {
            let mut cols = line.split('\t');
            if let (Some(word), Some(Ok(v))) = (cols.next(), cols.next().map(str::parse::<f32>)) {
                lexicon.insert(word.to_string(), v);
            }
        }
        let boosters = INTENSIFIERS
            .iter()
            .map(|w| (*w, B_INCR))
            .chain(DAMPENERS.iter().map(|w| (*w, -B_INCR)))
            .collect();
        SentimentScorer { lexicon, boosters }
    }

    /// Scores a text.
    pub fn score(&self, text: &str) -> Scores {
        let tokens = tokenize(text);
        let caps_differ = {
            let caps = tokens.iter().filter(|t| is_shouting(t.text)).count();
            caps > 0 && caps < tokens.len()
        };
        let mut valences: Vec<f32> = (0..tokens.len())
            .map(|i| self.valence(&tokens, i, caps_differ))
            .collect();
        // Contrast: "but" halves what comes before and strengthens what comes after.
        if let Some(b) = tokens.iter().position(|t| t.lower == "but") {
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
                span: Span::new(text, t.start, t.start + t.text.len()),
                valence: *v,
            })
            .collect();
        aggregate(&valences, text, evidence)
    }

    fn valence(&self, tokens: &[Token], i: usize, caps_differ: bool) -> f32 {
        let t = &tokens[i];
        let lower = t.lower.as_str();
        if self.boosters.contains_key(lower) {
            return 0.0;
        }
        if lower == "kind" && tokens.get(i + 1).is_some_and(|n| n.lower == "of") {
            return 0.0;
        }
        let Some(&base) = self.lexicon.get(lower) else {
            return 0.0;
        };
        // "no" as a determiner before a sentiment word carries no sentiment itself.
        if lower == "no"
            && tokens
                .get(i + 1)
                .is_some_and(|n| self.lexicon.contains_key(n.lower.as_str()))
        {
            return 0.0;
        }
        let mut v = base;
        let word = |k: usize| tokens[i - k].lower.as_str();
        if (i > 0 && word(1) == "no")
            || (i > 1 && word(2) == "no")
            || (i > 2 && word(3) == "no" && matches!(word(1), "or" | "nor"))
        {
            v = base * NEGATION;
        }
        if caps_differ && is_shouting(t.text) {
            v += if v > 0.0 { CAPS_INCR } else { -CAPS_INCR };
        }
        for back in 1..=3usize {
            if i < back {
                break;
            }
            let prev = &tokens[i - back];
            if self.lexicon.contains_key(prev.lower.as_str()) {
                continue;
            }
            let mut s = self.booster(prev, v, caps_differ);
            if back == 2 {
                s *= 0.95;
            } else if back == 3 {
                s *= 0.9;
            }
            v += s;
            v = negation(v, tokens, i, back);
        }
        // "least": "the least helpful" flips; "at least" does not.
        if i > 0 && word(1) == "least" && !(i > 1 && matches!(word(2), "at" | "very")) {
            v *= NEGATION;
        }
        v
    }

    fn booster(&self, t: &Token, valence: f32, caps_differ: bool) -> f32 {
        let Some(&b) = self.boosters.get(t.lower.as_str()) else {
            return 0.0;
        };
        let mut s = if valence < 0.0 { -b } else { b };
        if caps_differ && is_shouting(t.text) {
            s += if valence > 0.0 { CAPS_INCR } else { -CAPS_INCR };
        }
        s
    }
}

fn negation(v: f32, tokens: &[Token], i: usize, back: usize) -> f32 {
    let w = |k: usize| tokens[i - k].lower.as_str();
    match back {
        1 if is_negation(w(1)) => v * NEGATION,
        2 if w(2) == "never" && matches!(w(1), "so" | "this") => v * 1.25,
        2 if w(2) == "without" && w(1) == "doubt" => v,
        2 if is_negation(w(2)) => v * NEGATION,
        3 if w(3) == "never"
            && (matches!(w(2), "so" | "this") || matches!(w(1), "so" | "this")) =>
        {
            v * 1.25
        }
        3 if w(3) == "without" && (w(2) == "doubt" || w(1) == "doubt") => v,
        3 if is_negation(w(3)) => v * NEGATION,
        _ => v,
    }
}

fn is_negation(w: &str) -> bool {
    NEGATIONS.contains(&w) || w.contains("n't")
}

fn is_shouting(w: &str) -> bool {
    w.chars().any(char::is_alphabetic) && !w.chars().any(char::is_lowercase)
}

/// Splits on whitespace and trims punctuation from words (but keeps emoticons such as ":)" whole).
fn tokenize(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut pos = 0;
    for raw in text.split_whitespace() {
        let start = pos + text[pos..].find(raw).unwrap_or(0);
        pos = start + raw.len();
        let trimmed = raw.trim_matches(|c: char| c.is_ascii_punctuation());
        let (word, offset) = if trimmed.chars().count() <= 2 {
            (raw, 0)
        } else {
            let lead = raw.len()
                - raw
                    .trim_start_matches(|c: char| c.is_ascii_punctuation())
                    .len();
            (trimmed, lead)
        };
        if word.is_empty() {
            continue;
        }
        out.push(Token {
            text: word,
            lower: word.to_lowercase(),
            start: start + offset,
        });
    }
    out
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
