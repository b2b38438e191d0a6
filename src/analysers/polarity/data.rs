//! The training data of the sentiment model, read from text (the command reads the files): how
//! each source's labels become the three classes, and the fixed splits.
//!
//! * GoEmotions (`text<TAB>label ids<TAB>id`): its own grouping — a comment with positive emotions
//!   only is positive, negative only negative, `neutral` only neutral; the ambiguous group
//!   (surprise, curiosity, confusion, realization) alone counts as neutral; a comment with both
//!   positive and negative emotions is left out (no single label is right for it).
//! * Rated rows (`id<TAB>rating<TAB>text`, VADER's ground truth, or a label word for the rating as
//!   in `data/earshot/sentiment/`): positive at a mean rating of 0.5 or more, negative at −0.5 or
//!   less, as `earshot eval-sentiment` counts them.
//!
//! Splits of rated rows are by a hash of the id ([`split_of`]), so they never move: a fifth is the
//! held-out test split, a tenth dev, the rest train.

use crate::emotion::LABELS;
use crate::signals::corpus::Split;
use crate::types::Label;

pub use crate::sentiment::eval::rating_label;

/// GoEmotions' sentiment grouping (`sentiment_dict.json`).
const POSITIVE: [&str; 12] = [
    "amusement",
    "excitement",
    "joy",
    "love",
    "desire",
    "optimism",
    "caring",
    "pride",
    "admiration",
    "gratitude",
    "relief",
    "approval",
];
const NEGATIVE: [&str; 11] = [
    "fear",
    "nervousness",
    "remorse",
    "embarrassment",
    "disappointment",
    "sadness",
    "grief",
    "disgust",
    "anger",
    "annoyance",
    "disapproval",
];

/// The class of a GoEmotions example's label ids, or `None` for a mixed one.
pub fn goemotions_label(ids: &[usize]) -> Option<Label> {
    let name = |i: &usize| LABELS.get(*i).copied().unwrap_or("neutral");
    let pos = ids.iter().any(|i| POSITIVE.contains(&name(i)));
    let neg = ids.iter().any(|i| NEGATIVE.contains(&name(i)));
    match (pos, neg) {
        (true, false) => Some(Label::Positive),
        (false, true) => Some(Label::Negative),
        (false, false) => Some(Label::Neutral),
        (true, true) => None,
    }
}

/// FNV-1a of an id.
pub fn id_hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The split of a rated row by its id: 2 in 10 test, 1 in 10 dev, the rest train.
pub fn split_of(id: &str) -> Split {
    match id_hash(id) % 10 {
        0 | 1 => Split::Test,
        2 => Split::Dev,
        _ => Split::Train,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goemotions_groups_become_classes_and_mixed_rows_are_left_out() {
        let id = |n: &str| LABELS.iter().position(|l| *l == n).unwrap();
        assert_eq!(goemotions_label(&[id("joy")]), Some(Label::Positive));
        assert_eq!(
            goemotions_label(&[id("anger"), id("surprise")]),
            Some(Label::Negative)
        );
        assert_eq!(goemotions_label(&[id("neutral")]), Some(Label::Neutral));
        assert_eq!(goemotions_label(&[id("curiosity")]), Some(Label::Neutral));
        assert_eq!(goemotions_label(&[id("joy"), id("sadness")]), None);
    }

    #[test]
    fn splits_are_fixed_by_id_and_about_the_sizes_said() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("r{i}")).collect();
        let test = ids.iter().filter(|i| split_of(i) == Split::Test).count();
        let dev = ids.iter().filter(|i| split_of(i) == Split::Dev).count();
        assert!((1_800..2_200).contains(&test), "{test}");
        assert!((800..1_200).contains(&dev), "{dev}");
        assert_eq!(split_of("s01-0042"), split_of("s01-0042"));
    }
}
