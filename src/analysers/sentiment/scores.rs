//! From the valences to the scores: the sums, VADER's normalisation and punctuation emphasis,
//! the positive/neutral/negative proportions, the sentences, and rounding.

use super::*;

/// The sum of the valences of `words` words (the others count 0), pushed away from zero by the
/// punctuation emphasis, normalised to -1..1 (VADER's alpha of 15).
pub(super) fn normalised(valences: &[Valence], words: usize, emphasis: f32) -> f32 {
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
pub(super) fn sum(valences: &[Valence], words: usize) -> f32 {
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
pub(super) fn round(y: f32) -> f32 {
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
pub(super) struct SentenceRange {
    pub(super) start: usize,
    pub(super) end: usize,
    /// The tokens' sentence number.
    pub(super) number: u32,
    /// Its first "but", if any.
    pub(super) but: Option<usize>,
}

/// The '!' and '?' of a text or a sentence.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Marks {
    pub(super) bangs: usize,
    pub(super) questions: usize,
}

impl Marks {
    pub(super) fn add(&mut self, bang: bool) {
        if bang {
            self.bangs += 1;
        } else {
            self.questions += 1;
        }
    }

    /// VADER's punctuation emphasis: 0.292 per '!' up to four; two or three '?' add 0.18 each,
    /// more add 0.96.
    pub(super) fn emphasis(self) -> f32 {
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
pub(super) fn aggregate(
    valences: &[Valence],
    words: usize,
    emphasis: f32,
    evidence: Vec<Evidence>,
) -> Scores {
    if words == 0 {
        return Scores {
            compound: 0.0,
            lexicon_compound: 0.0,
            positive: 0.0,
            neutral: 0.0,
            negative: 0.0,
            label: Label::Neutral,
            overruled: false,
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
        overruled: false,
        evidence,
        sentences: Vec::new(),
    }
}
