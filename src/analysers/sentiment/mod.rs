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

pub mod eval;
mod lexicon;
mod rules;
mod scores;
mod tokenize;
mod word_table;

use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use wide::i8x16;

use serde::{Deserialize, Serialize};

pub use crate::types::Label;
use crate::types::Span;
use lexicon::*;
use rules::*;
pub(crate) use scores::round3;
use scores::*;
use tokenize::*;
use word_table::WordTable;

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
    /// Normalised sum of valences, -1..1. In an insight, the learned model's score
    /// ([`crate::polarity`]), whose label is `label`.
    pub compound: f32,
    /// The lexicon's own compound score: what its evidence adds up to.
    #[serde(default)]
    pub lexicon_compound: f32,
    pub positive: f32,
    pub neutral: f32,
    pub negative: f32,
    pub label: Label,
    /// In an insight: the model's label is not the lexicon's, and the evidence is the words the
    /// model weighed most for its label, not the lexicon's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overruled: bool,
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

impl Default for SentimentScorer {
    fn default() -> Self {
        Self::new()
    }
}

impl SentimentScorer {
    /// Scores a text, and each of its sentences.
    pub fn score(&self, text: &str) -> Scores {
        // Links are no words ([`crate::analysers::links`]); blanked, the text keeps its offsets.
        let blanked = crate::analysers::links::blank(text);
        let text: &str = &blanked;
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
