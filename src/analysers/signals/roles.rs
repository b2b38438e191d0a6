//! Roles, not names: the message model reads a brand mention as `<own>` or `<rival>`.
//!
//! The text's hashed features ([`crate::emotion::features`]) are computed once, for the emotion,
//! sentiment and signal models. Read as they are, they let the signal model learn the 60 names of
//! the corpus's catalog: "Corvid" is mostly left, so its name weighs for `switching`, and a brand
//! it never saw gets nothing of that. (The corpus's frozen splits with every brand renamed lost
//! 0.02–0.03 of intents micro-F1, most of it recall of `prospect` and `switching`.) So, for the
//! signal model only, the features of every word inside a mention — the word, its character
//! 4-grams and the bigrams it is part of — are taken out, and the mention becomes one word, its
//! role: `<own>` for a brand of the catalog's own, `<rival>` for a competitor's, with the bigrams
//! it makes with its neighbours ("from <rival>", "<own> yet"). The per-brand model reads roles
//! the same way ([`super::aspect`]).

use smallvec::SmallVec;

use crate::emotion::{hash, hash_parts, word_grams, WORD_BYTE};
use crate::types::Mention;

/// A word of the text in the features' sense: its byte range, and where its lower-cased bytes
/// are in the buffer [`words`] fills (one buffer on the stack: this runs for every message with a
/// mention).
#[derive(Clone, Copy)]
struct Word {
    start: usize,
    end: usize,
    lower: (usize, usize),
}

/// Whether `c` belongs to a word in the features' sense.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '\'' || c == '’'
}

/// The words [`crate::emotion::features`] reads in `text[from..to]` (a range that starts and ends
/// at a word's edge): runs of letters, digits and apostrophes, lower-cased, a typographic
/// apostrophe read as `'`.
fn words(
    text: &str,
    from: usize,
    to: usize,
    out: &mut SmallVec<[Word; 8]>,
    lower: &mut SmallVec<[u8; 64]>,
) {
    if text[from..to].is_ascii() {
        let b = text.as_bytes();
        let mut i = from;
        while i < to {
            if !WORD_BYTE[usize::from(b[i])] {
                i += 1;
                continue;
            }
            let (start, at) = (i, lower.len());
            while i < to && WORD_BYTE[usize::from(b[i])] {
                lower.push(b[i].to_ascii_lowercase());
                i += 1;
            }
            out.push(Word {
                start,
                end: i,
                lower: (at, lower.len()),
            });
        }
        return;
    }
    let mut push = |s: usize, e: usize| {
        let w = &text[s..e];
        let at = lower.len();
        if w.is_ascii() {
            lower.extend(w.bytes().map(|b| b.to_ascii_lowercase()));
        } else {
            let mut buf = [0u8; 4];
            for c in w.chars() {
                match c {
                    '’' => lower.push(b'\''),
                    c => {
                        for l in c.to_lowercase() {
                            lower.extend_from_slice(l.encode_utf8(&mut buf).as_bytes());
                        }
                    }
                }
            }
        }
        out.push(Word {
            start: s,
            end: e,
            lower: (at, lower.len()),
        });
    };
    let mut start: Option<usize> = None;
    for (at, c) in text[from..to].char_indices() {
        if is_word(c) {
            start.get_or_insert(from + at);
        } else if let Some(s) = start.take() {
            push(s, from + at);
        }
    }
    if let Some(s) = start {
        push(s, to);
    }
}

/// Where the words a mention at `text[start..end]` changes begin and end: from the word before
/// the mention's first word to the word after its last (the bigrams it is part of), or the text's
/// edge.
fn window(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let mut from = start;
    let mut back = text.get(..start)?.char_indices().rev().peekable();
    // The rest of a word the mention starts inside of, the gap, the word before.
    for word in [true, false, true] {
        while let Some(&(i, c)) = back.peek() {
            if is_word(c) != word {
                break;
            }
            if word {
                from = i;
            }
            back.next();
        }
    }
    let mut to = end;
    let mut ahead = text.get(end..)?.char_indices().peekable();
    for word in [true, false, true] {
        while let Some(&(i, c)) = ahead.peek() {
            if is_word(c) != word {
                break;
            }
            if word {
                to = end + i + c.len_utf8();
            }
            ahead.next();
        }
    }
    Some((from, to))
}

/// A token of the text as the signal model reads it: a word, or a mention's role.
#[derive(Clone, Copy)]
enum Token<'w> {
    Word(&'w [u8]),
    Role(&'static [u8], usize),
}

impl Token<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Token::Word(w) => w,
            Token::Role(r, _) => r,
        }
    }
}

/// What reading the mentions as roles changes in a text's features: the features to take out
/// (each once: the text's features hold them) and the features to add.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Patch {
    pub take: SmallVec<[u32; 32]>,
    pub add: SmallVec<[u32; 16]>,
}

/// The word a mention is read as: `<rival>` for a competitor's, `<own>` for the catalog's own.
fn role(competitor: bool) -> &'static [u8] {
    if competitor {
        b"<rival>"
    } else {
        b"<own>"
    }
}

/// The feature of a mention's role read as a word (its bigrams are features of their own).
pub(super) fn role_feature(competitor: bool, mask: u32) -> u32 {
    hash(role(competitor), 1) & mask
}

/// Takes one occurrence of each of `take` out of `feats`, one search of `feats` for each: the
/// plain definition that tests hold [`super::model::present`] (what the model reads) to.
#[cfg(test)]
pub(super) fn take_out(feats: &mut Vec<u32>, take: &[u32]) {
    for &f in take {
        if let Some(i) = feats.iter().position(|&x| x == f) {
            feats.swap_remove(i);
        }
    }
}

/// [`take_out`], checking that each of `take` was there.
#[cfg(test)]
pub(crate) fn take_out_all(feats: &mut Vec<u32>, take: &[u32]) {
    let before = feats.len();
    take_out(feats, take);
    assert_eq!(
        before - feats.len(),
        take.len(),
        "a feature to take out is not there"
    );
}

/// A mention of the first occurrence of `name` in `text`, for tests.
#[cfg(test)]
pub(super) fn test_mention(text: &str, name: &str, competitor: bool) -> Mention {
    let start = text.find(name).expect("the name is in the text");
    Mention {
        brand: name.to_lowercase(),
        product: None,
        line: None,
        competitor,
        span: crate::types::Span::new(text, start, start + name.len()),
        sentiment: None,
        intents: Vec::new(),
        journey_phase: None,
        recipient: false,
    }
}

/// The [`Patch`] that reads every mention of `text` as its role: see the module's
/// documentation. `mask` keeps buckets within the model. Only the words around the mentions are
/// read again.
pub fn patch(text: &str, mentions: &[Mention], mask: u32) -> Patch {
    let spans: SmallVec<[Spot; 4]> = mentions
        .iter()
        .map(|m| (m.span.start, m.span.end, m.competitor))
        .collect();
    patch_spots(text, &spans, mask)
}

/// A mention as [`patch_spots`] reads it: its byte range in the text and whether it is a
/// competitor's.
pub type Spot = (usize, usize, bool);

/// [`patch`] of mentions given as [`Spot`]s: how the analyser patches the text with its names
/// masked, whose mentions lie elsewhere than in the text as written.
pub fn patch_spots(text: &str, mentions: &[Spot], mask: u32) -> Patch {
    // The words around a mention as the features read them: not a link's, nor a handle's
    // ([`crate::analysers::links::blank_handles_too`]). A mention that is a handle
    // ("@larkspurhelp") has no word left: it is read as its role where it stands.
    let blanked = crate::analysers::links::blank_handles_too(text);
    let text: &str = &blanked;
    let mut patch = Patch::default();
    let mut windows: SmallVec<[(usize, usize); 4]> = mentions
        .iter()
        .filter_map(|&(start, end, _)| window(text, start, end))
        .collect();
    if windows.is_empty() {
        return patch;
    }
    windows.sort_unstable();
    // Windows that share a word are one.
    let mut merged: SmallVec<[(usize, usize); 4]> = SmallVec::new();
    for (from, to) in windows {
        match merged.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    let (out, add) = (&mut patch.take, &mut patch.add);
    let mut ws: SmallVec<[Word; 8]> = SmallVec::new();
    let mut buf: SmallVec<[u8; 64]> = SmallVec::new();
    for (from, to) in merged {
        ws.clear();
        buf.clear();
        words(text, from, to, &mut ws, &mut buf);
        let lower = |w: &Word| &buf[w.lower.0..w.lower.1];
        let masked: SmallVec<[Option<usize>; 8]> = ws
            .iter()
            .map(|w| {
                mentions
                    .iter()
                    .position(|&(start, end, _)| w.start < end && start < w.end)
            })
            .collect();
        // The window's mentions with no word in it (handles), in the order they stand.
        let mut wordless: SmallVec<[usize; 4]> = (0..mentions.len())
            .filter(|&k| {
                let (start, end, _) = mentions[k];
                from <= start && end <= to && !masked.contains(&Some(k))
            })
            .collect();
        wordless.sort_unstable_by_key(|&k| mentions[k].0);
        // Out: each masked word, its 4-grams, and every bigram with a masked word in it or a
        // wordless mention between its words.
        for (w, m) in ws.iter().zip(&masked) {
            if m.is_none() {
                continue;
            }
            out.push(hash(lower(w), 1) & mask);
            word_grams(lower(w), mask, out);
        }
        for (pair, m) in ws.windows(2).zip(masked.windows(2)) {
            let between = || {
                wordless.iter().any(|&k| {
                    let (start, end, _) = mentions[k];
                    pair[0].end <= start && end <= pair[1].start
                })
            };
            if m[0].is_some() || m[1].is_some() || between() {
                out.push(hash_parts(&[lower(&pair[0]), b" ", lower(&pair[1])], 2) & mask);
            }
        }
        // In: the words again with one role a mention, its word and its bigrams.
        let mut tokens: SmallVec<[Token; 8]> = SmallVec::new();
        let mut role_of = |k: usize, tokens: &mut SmallVec<[Token; 8]>| {
            let competitor = mentions[k].2;
            add.push(role_feature(competitor, mask));
            tokens.push(Token::Role(role(competitor), k));
        };
        let mut pending = wordless.iter().copied().peekable();
        for (w, m) in ws.iter().zip(&masked) {
            while let Some(k) = pending.next_if(|&k| mentions[k].0 < w.start) {
                role_of(k, &mut tokens);
            }
            match m {
                None => tokens.push(Token::Word(lower(w))),
                Some(k) => {
                    if matches!(tokens.last(), Some(Token::Role(_, at)) if at == k) {
                        continue;
                    }
                    role_of(*k, &mut tokens);
                }
            }
        }
        for k in pending {
            role_of(k, &mut tokens);
        }
        for pair in tokens.windows(2) {
            if matches!(pair[0], Token::Role(..)) || matches!(pair[1], Token::Role(..)) {
                add.push(hash_parts(&[pair[0].bytes(), b" ", pair[1].bytes()], 2) & mask);
            }
        }
    }
    patch
}

#[cfg(test)]
mod tests {
    use super::test_mention as mention;
    use super::*;
    use crate::sentiment::SentimentScorer;

    fn read(text: &str, mentions: &[Mention]) -> Vec<u32> {
        let scores = SentimentScorer::new().score(text);
        let mut f = crate::emotion::features(text, &scores);
        let p = patch(text, mentions, u32::MAX);
        take_out(&mut f, &p.take);
        f.extend_from_slice(&p.add);
        f.sort_unstable();
        f
    }

    #[test]
    fn a_handle_is_read_as_its_role_where_it_stands() {
        // The features never read a handle's name: the mention is its role all the same, with
        // the same neighbours as a name written in words (the space keeps the length).
        let a = "thanks @larkspur for nothing";
        let b = "thanks  larkspur for nothing";
        let c = "thanks @corvidhelp for nothing";
        let fa = read(a, &[mention(a, "@larkspur", false)]);
        assert_eq!(fa, read(b, &[mention(b, "larkspur", false)]));
        assert_ne!(
            fa,
            read(c, &[mention(c, "@corvidhelp", true)]),
            "another role"
        );
        // Two handles side by side, and one with no word around it.
        let d = "@larkspur @corvid why";
        let p = patch(
            d,
            &[mention(d, "@larkspur", false), mention(d, "@corvid", true)],
            u32::MAX,
        );
        assert_eq!(p.take.len(), 0, "no word of theirs to take out");
        assert_eq!(
            p.add.len(),
            4,
            "two roles, their bigram and the one with \"why\""
        );
        assert_eq!(
            patch(
                "@larkspur",
                &[mention("@larkspur", "@larkspur", false)],
                u32::MAX
            )
            .add
            .len(),
            1
        );
    }

    #[test]
    fn two_brands_in_the_same_roles_read_the_same() {
        let a = "Leaving Corvid for Larkspur next month, finally";
        let b = "Leaving Skylane for Fernbank next month, finally";
        let fa = read(
            a,
            &[mention(a, "Corvid", true), mention(a, "Larkspur", false)],
        );
        let fb = read(
            b,
            &[mention(b, "Skylane", true), mention(b, "Fernbank", false)],
        );
        assert_eq!(fa, fb);
        // Swapped roles read differently: who is left matters.
        let fc = read(
            b,
            &[mention(b, "Skylane", false), mention(b, "Fernbank", true)],
        );
        assert_ne!(fa, fc);
    }

    #[test]
    fn a_mention_of_several_words_is_one_role_and_non_ascii_text_reads_alike() {
        let a = "Switched to Corvid Telecom’s plan — way cheaper";
        let b = "Switched to Tidewire’s plan — way cheaper";
        let ma = [mention(a, "Corvid Telecom", true)];
        let mb = [mention(b, "Tidewire", true)];
        assert_eq!(read(a, &ma), read(b, &mb));
    }

    #[test]
    fn mentions_at_the_edges_and_side_by_side_read_as_roles() {
        let a = "Corvid or Larkspur? Tidewire";
        let b = "Skylane or Fernbank? Quasar";
        let ma = [
            mention(a, "Corvid", true),
            mention(a, "Larkspur", false),
            mention(a, "Tidewire", true),
        ];
        let mb = [
            mention(b, "Skylane", true),
            mention(b, "Fernbank", false),
            mention(b, "Quasar", true),
        ];
        let fa = read(a, &ma);
        assert_eq!(fa, read(b, &mb));
        for (x, y) in [("<rival>", "or"), ("or", "<own>"), ("<own>", "<rival>")] {
            let bigram = hash_parts(&[x.as_bytes(), b" ", y.as_bytes()], 2);
            assert!(fa.contains(&bigram), "{x} {y}");
        }
        assert_eq!(fa.iter().filter(|&&f| f == hash(b"<rival>", 1)).count(), 2);
    }

    #[test]
    fn without_mentions_the_features_are_the_texts() {
        let t = "The Larkspur app keeps logging me out";
        assert_eq!(patch(t, &[], u32::MAX), Patch::default());
        // With one, its name is gone and its role is there; every feature taken was there.
        let scores = SentimentScorer::new().score(t);
        let plain = crate::emotion::features(t, &scores);
        let m = [mention(t, "Larkspur", false)];
        let p = patch(t, &m, u32::MAX);
        let mut masked = plain.clone();
        take_out(&mut masked, &p.take);
        masked.extend_from_slice(&p.add);
        assert_eq!(masked.len(), plain.len() - p.take.len() + p.add.len());
        let masked = read(t, &m);
        assert!(!masked.contains(&hash(b"larkspur", 1)));
        assert!(masked.contains(&hash(b"<own>", 1)));
        assert!(masked.contains(&hash_parts(&[b"<own>", b" ", b"app"], 2)));
        assert!(!masked.contains(&hash_parts(&[b"the", b" ", b"larkspur"], 2)));
    }
}
