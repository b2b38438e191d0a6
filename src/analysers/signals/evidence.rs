//! The words behind a learned decision: for a label the cues did not explain, the words of the
//! text that weigh most for it as the model decides it (their hashed buckets, as the emotion
//! features hash a word; through the second reading,
//! [`super::model::SignalModel::weight_for`]). The text is split once per message, however many
//! labels need words. Function words ("to", "and", "the") are never evidence: a weight they carry
//! is the phrase's ("switching to"), and on their own they explain nothing to a reader.

use crate::emotion::word_bucket;
use crate::types::{is_function_word, Span};

use super::model::BUCKETS;

/// The words of a text that may be evidence: byte range and bucket.
pub(super) struct Words(Vec<(usize, usize, u32)>);

impl Words {
    pub(super) fn of(text: &str) -> Words {
        // A link's or a handle's words are never evidence: a handle names an account
        // ([`crate::analysers::links::blank_handles_too`]).
        let blanked = crate::analysers::links::blank_handles_too(text);
        let text: &str = &blanked;
        let mut out = Vec::new();
        let mut lower: Vec<u8> = Vec::with_capacity(32);
        let mut word_start: Option<usize> = None;
        let mask = BUCKETS as u32 - 1;
        for (at, c) in text.char_indices() {
            if c.is_alphanumeric() || c == '\'' || c == '\u{2019}' {
                word_start.get_or_insert(at);
                if c == '\u{2019}' {
                    lower.push(b'\'');
                } else if c.is_ascii() {
                    lower.push(c.to_ascii_lowercase() as u8);
                } else {
                    let mut b = [0u8; 4];
                    for l in c.to_lowercase() {
                        lower.extend_from_slice(l.encode_utf8(&mut b).as_bytes());
                    }
                }
            } else if let Some(s) = word_start.take() {
                if !is_function_word(&lower) {
                    out.push((s, at, word_bucket(&lower) & mask));
                }
                lower.clear();
            }
        }
        if let Some(s) = word_start.filter(|_| !is_function_word(&lower)) {
            out.push((s, text.len(), word_bucket(&lower) & mask));
        }
        Words(out)
    }

    /// Up to `k` words with the largest positive weight (`weight` of the word's bucket), in text
    /// order.
    pub(super) fn top(&self, text: &str, weight: impl Fn(u32) -> f32, k: usize) -> Vec<Span> {
        let mut scored: Vec<(f32, usize, usize)> = self
            .0
            .iter()
            .map(|&(s, e, b)| (weight(b), s, e))
            .filter(|w| w.0 > 0.0)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.truncate(k);
        scored.sort_by_key(|s| s.1);
        scored
            .into_iter()
            .map(|(_, s, e)| Span::new(text, s, e))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_words_are_never_words_of_the_text() {
        for w in ["a", "to", "and", "the", "i'm", "you're", "yours"] {
            assert!(is_function_word(w.as_bytes()), "{w}");
        }
        assert!(!is_function_word(b"tot") && !is_function_word(b""));
        let text = "Switching to Larkspur and THE price";
        let words: Vec<&str> = Words::of(text).0.iter().map(|w| &text[w.0..w.1]).collect();
        assert_eq!(words, ["Switching", "Larkspur", "price"]);
    }
}
