//! The analysers: each a value built once (its lexicons, automata and models compiled in) with a
//! pure method over one interaction. [`crate::analyze::Analyzer`] runs them in order; each folder
//! also owns the evaluation of its analyser and the loading of its data.
//!
//! * [`links`]: the links in a text, which every reader of words reads as spaces;
//! * [`language`]: the source's language tag, or the text's, and whether the analysers read it;
//! * [`mentions`]: brands and products, by the catalog's boolean queries;
//! * [`sentiment`]: lexicon-and-rules sentiment per message and per sentence;
//! * [`emotion`]: 28 GoEmotions emotions and their Ekman groups, a linear model over hashed features;
//! * [`polarity`]: the learned sentiment label and score of a message, a sentence or a clause;
//! * [`signals`]: emotional context, effort, intents, journey phase, sarcasm, priority and routing.

pub mod emotion;
pub mod language;
pub mod links;
pub mod mentions;
pub mod polarity;
pub mod sentiment;
pub mod signals;

/// A byte table for a word's bytes: ASCII letters and digits, and `extra`. One load answers what
/// a chain of range tests would in a tokenizer's inner loop.
pub(crate) const fn word_bytes_and(extra: u8) -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == extra;
        b += 1;
    }
    t
}

/// `w` in lower case, as [`str::to_lowercase`] gives it, allocating only when an ASCII word has a
/// capital or the word is not ASCII: most words of a post are already lower case, and a copy of
/// each was two in five of the analyser's allocations (28 of about 70 a post of the sample).
pub(crate) fn lowercase(w: &str) -> std::borrow::Cow<'_, str> {
    if !w.is_ascii() {
        w.to_lowercase().into()
    } else if w.bytes().any(|b| b.is_ascii_uppercase()) {
        w.to_ascii_lowercase().into()
    } else {
        w.into()
    }
}

#[cfg(test)]
mod tests {
    use super::lowercase;
    use std::borrow::Cow;

    #[test]
    fn lowercase_is_to_lowercase_and_borrows_what_is_already_lower() {
        for (w, lower) in [
            ("larkspur", "larkspur"),
            ("Larkspur", "larkspur"),
            ("WiFi", "wifi"),
            ("5G", "5g"),
            ("", ""),
            ("naïve", "naïve"),
            ("ÉTÉ", "été"),
            // A capital sigma at a word's end is the final form.
            ("ΟΔΟΣ", "οδος"),
            ("It’s", "it’s"),
        ] {
            assert_eq!(lowercase(w), lower, "{w}");
            assert_eq!(lowercase(w), w.to_lowercase(), "{w}");
        }
        assert!(matches!(lowercase("already lower"), Cow::Borrowed(_)));
        assert!(matches!(lowercase("Capital"), Cow::Owned(_)));
    }
}
