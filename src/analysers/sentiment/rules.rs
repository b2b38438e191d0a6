//! The rules that turn a word's lexicon valence into its valence in the text: capitals, boosters,
//! negation, "least", "kind of", "but" — in the manner of VADER.

use super::*;

impl SentimentScorer {
    pub(super) fn valence(&self, tokens: &[Token], i: usize, caps_differ: bool) -> f32 {
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
pub(super) fn negation(
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

pub(super) fn is_shouting(w: &str) -> bool {
    if w.is_ascii() {
        let b = w.as_bytes();
        return b.iter().any(u8::is_ascii_uppercase) && !b.iter().any(u8::is_ascii_lowercase);
    }
    w.chars().any(char::is_alphabetic) && !w.chars().any(char::is_lowercase)
}

/// A word's valence after the rules: `v` of the token at `at`. A text's valences are kept for the
/// words that have one, in order; every other word counts 0.
#[derive(Debug, Clone, Copy)]
pub(super) struct Valence {
    pub(super) at: usize,
    pub(super) v: f32,
}

/// The valences of tokens `a..b`, of valences in token order.
pub(super) fn within(valences: &mut [Valence], a: usize, b: usize) -> &mut [Valence] {
    let from = valences.partition_point(|v| v.at < a);
    let to = valences.partition_point(|v| v.at < b);
    &mut valences[from..to]
}

/// The contrastive "but" of token `k`: what comes before it counts half, what follows half again
/// as much.
pub(super) fn but(valences: &mut [Valence], k: usize) {
    for v in valences {
        if v.at < k {
            v.v *= 0.5;
        } else if v.at > k {
            v.v *= 1.5;
        }
    }
}
