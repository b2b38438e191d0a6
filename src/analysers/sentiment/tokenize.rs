//! Splitting a text into tokens and looking every word up: the ASCII path over bytes (a class table,
//! 16-byte SIMD compares for a short word, eight bytes at a time for a word's end), the general
//! path for emoji and other scripts, elongations, camel-case hashtags and the phrase lexicon.

use super::*;

/// What the rules need to know of one token, computed once per token.
#[derive(Debug, Clone, Copy)]
pub(super) struct Token {
    pub(super) start: usize,
    pub(super) end: usize,
    /// Its lower-cased form is `lower[lstart..lend]` of the scoring call.
    pub(super) lstart: usize,
    pub(super) lend: usize,
    pub(super) shouting: bool,
    /// Lexicon valence, if the word is in the lexicon.
    pub(super) valence: Option<f32>,
    /// Booster effect (positive intensifier, negative dampener), if a booster.
    pub(super) booster: Option<f32>,
    pub(super) negation: bool,
    /// Index of the sentence the token is in.
    pub(super) sentence: u32,
    /// Written elongated ("sooo"): emphasis.
    pub(super) elongated: bool,
    /// Ends a phrase of the phrase lexicon; its valence is the phrase's.
    pub(super) phrase: bool,
    /// Part of a phrase, before its last word: carries nothing itself.
    pub(super) absorbed: bool,
    /// May start a phrase of the phrase lexicon.
    pub(super) phrase_start: bool,
    /// Its lower-cased form, if the rules name it.
    pub(super) special: Special,
    /// A word, to be looked up (see [`SentimentScorer::resolve`]); not an emoji.
    pub(super) word: bool,
    /// Written with capitals the lexicon may tell apart (see [`Spelling`]).
    pub(super) capitals: bool,
    /// Has an apostrophe ("don't").
    pub(super) apostrophe: bool,
    /// ASCII.
    pub(super) ascii: bool,
}

/// The tokens of a text: on the stack up to 24 (a tweet has some fifteen), on the heap beyond.
pub(super) type Tokens = SmallVec<[Token; 24]>;

/// A word as written, before it is looked up.
pub(super) struct Spelling {
    /// Its offset in the text.
    pub(super) start: usize,
    /// Its end in the text.
    pub(super) end: usize,
    /// Its lower-cased form is `lower[lstart..lend]` of the scoring call.
    pub(super) lstart: usize,
    pub(super) lend: usize,
    pub(super) shouting: bool,
    pub(super) apostrophe: bool,
    /// Has capitals the lexicon may tell apart ("LOL", "D:").
    pub(super) capitals: bool,
    pub(super) ascii: bool,
}

impl Spelling {
    /// An ASCII word at `start` of the text, its lower-cased form at `lstart` of `lower`: one
    /// table lookup per byte answers what the rules ask of its letters.
    #[inline(always)]
    pub(super) fn ascii(start: usize, word: &[u8], lstart: usize) -> Spelling {
        Spelling::of_class(start, word.len(), lstart, class_of(word))
    }

    /// An ASCII word of `len` bytes whose bytes' [`CLASS`] bits, or-ed, are `class`.
    #[inline(always)]
    pub(super) fn of_class(start: usize, len: usize, lstart: usize, class: u8) -> Spelling {
        let (upper, lowercase) = (class & UPPER != 0, class & LOWER != 0);
        Spelling {
            start,
            end: start + len,
            lstart,
            lend: lstart + len,
            shouting: upper && !lowercase,
            apostrophe: class & APOSTROPHE != 0,
            // Written in capitals, or an emoticon with a capital: maybe a spelling of its own.
            capitals: upper && (!lowercase || class & SYMBOL != 0),
            ascii: true,
        }
    }
}

/// Removes what does not change an emoji's meaning: skin tones, variation selectors; a ZWJ sequence
/// is reduced to its first emoji.
pub(super) fn normalise_emoji(g: &str) -> String {
    let first = g.split('\u{200d}').next().unwrap_or(g);
    first
        .chars()
        .filter(|c| !matches!(*c, '\u{fe0f}' | '\u{fe0e}' | '\u{1f3fb}'..='\u{1f3ff}'))
        .collect()
}

pub(super) fn is_pictographic(c: char) -> bool {
    matches!(c, '\u{1f000}'..='\u{1faff}' | '\u{2600}'..='\u{27bf}' | '\u{2b00}'..='\u{2bff}' | '\u{2300}'..='\u{23ff}')
}

/// Byte classes of the ASCII path ([`CLASS`]).
pub(super) const UPPER: u8 = 1;
pub(super) const LOWER: u8 = 2;
pub(super) const APOSTROPHE: u8 = 4;
/// Not a letter or digit.
pub(super) const SYMBOL: u8 = 8;
pub(super) const PUNCT: u8 = 16;
/// ASCII whitespace, as `u8::is_ascii_whitespace`.
pub(super) const SPACE: u8 = 32;

/// The class bits of every byte: one lookup answers every question the rules ask of a character.
pub(super) const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut c = 0;
        if b.is_ascii_uppercase() {
            c |= UPPER;
        }
        if b.is_ascii_lowercase() {
            c |= LOWER;
        }
        if b == b'\'' {
            c |= APOSTROPHE;
        }
        if !b.is_ascii_alphanumeric() {
            c |= SYMBOL;
        }
        if b.is_ascii_punctuation() {
            c |= PUNCT;
        }
        if b.is_ascii_whitespace() {
            c |= SPACE;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// The word of the whitespace-separated run `text[start..end]`, as a byte range of `text`: the run
/// without ASCII punctuation at either end, unless that leaves at most two characters, when the
/// punctuation is kept (emoticons such as ":)" stay whole). (Byte by byte: an ASCII byte is never
/// part of a multi-byte character, so the cuts fall on character boundaries.) `ascii`: the run is
/// known to be ASCII.
#[inline(always)]
pub(super) fn word_in_run(text: &str, start: usize, end: usize, ascii: bool) -> (usize, usize) {
    let b = text.as_bytes();
    let (mut ts, mut te) = (start, end);
    while ts < te && CLASS[usize::from(b[ts])] & PUNCT != 0 {
        ts += 1;
    }
    while te > ts && CLASS[usize::from(b[te - 1])] & PUNCT != 0 {
        te -= 1;
    }
    let short = if ascii || b[ts..te].is_ascii() {
        te - ts <= 2
    } else {
        text[ts..te].chars().nth(2).is_none()
    };
    if short {
        (start, end)
    } else {
        (ts, te)
    }
}

/// The [`CLASS`] bits of the bytes of `word`, or-ed: one table lookup per byte.
#[inline(always)]
pub(super) fn class_of(word: &[u8]) -> u8 {
    word.iter()
        .fold(0u8, |class, &c| class | CLASS[usize::from(c)])
}

/// What [`word_in_run`] and the [`CLASS`] fold of [`class_of`] find of the run
/// `b[start..end]` of an ASCII text, the word's range and its class bits, from one 16-byte read
/// and a few comparisons over all 16 bytes at once: no loop over the word's bytes, whose exit the
/// branch predictor misses at almost every word. `None` when the run is longer than 16 bytes or
/// ends within 16 bytes of the end of the text; the loops then answer.
#[inline(always)]
pub(super) fn short_run(b: &[u8], start: usize, end: usize) -> Option<(usize, usize, u8)> {
    let chunk: &[u8; 16] = b.get(start..start + 16)?.try_into().ok()?;
    let n = end - start;
    if n > 16 {
        return None;
    }
    let run = (1u32 << n) - 1;
    let c = ByteClasses::of(chunk);
    let alphanumeric = c.upper | c.lower | c.digit;
    // ASCII punctuation: printable, neither a letter, a digit nor a space.
    let punctuation = c.printable & !alphanumeric;
    // The run without punctuation at either end, unless that leaves at most two bytes.
    let kept = run & !punctuation;
    let (ws, we) = if kept == 0 {
        (0, 0)
    } else {
        (kept.trailing_zeros(), 32 - kept.leading_zeros())
    };
    let (ws, we) = if we - ws <= 2 {
        (0, n as u32)
    } else {
        (ws, we)
    };
    let word = run >> ws << ws & !(u32::MAX << we);
    let mut class = 0;
    for (bits, flag) in [
        (c.upper, UPPER),
        (c.lower, LOWER),
        (c.apostrophe, APOSTROPHE),
        (!alphanumeric, SYMBOL),
    ] {
        if bits & word != 0 {
            class |= flag;
        }
    }
    Some((start + ws as usize, start + we as usize, class))
}

/// Which of 16 ASCII bytes are of each class [`short_run`] asks about, as bits from the lowest.
pub(super) struct ByteClasses {
    pub(super) upper: u32,
    pub(super) lower: u32,
    pub(super) digit: u32,
    /// '!' to '~'.
    pub(super) printable: u32,
    pub(super) apostrophe: u32,
}

impl ByteClasses {
    /// Two compares per class over all 16 bytes, and one instruction to gather a bit from each
    /// (SSE2 on every x86-64 processor, NEON on aarch64; `wide` falls back to arrays elsewhere).
    #[inline(always)]
    pub(super) fn of(chunk: &[u8; 16]) -> ByteClasses {
        // Signed compares: ASCII bytes are 0..=127 either way.
        let v = i8x16::new(chunk.map(|b| b as i8));
        let within = |lo: u8, hi: u8| {
            let above = v.simd_gt(i8x16::splat(lo as i8 - 1));
            let below = i8x16::splat(hi as i8 + 1).simd_gt(v);
            (above & below).to_bitmask()
        };
        ByteClasses {
            upper: within(b'A', b'Z'),
            lower: within(b'a', b'z'),
            digit: within(b'0', b'9'),
            printable: within(b'!', b'~'),
            apostrophe: within(b'\'', b'\''),
        }
    }
}

/// The whitespace-separated runs of a text, as `(start, end, a line break before it)`. `ascii`:
/// the text is ASCII, and is scanned byte by byte without decoding.
pub(super) struct Runs<'a> {
    pub(super) text: &'a str,
    pub(super) at: usize,
    pub(super) ascii: bool,
}

impl Iterator for Runs<'_> {
    type Item = (usize, usize, bool);

    #[inline]
    fn next(&mut self) -> Option<(usize, usize, bool)> {
        let mut line_break = false;
        let (start, end) = if self.ascii {
            let b = self.text.as_bytes();
            let mut i = self.at;
            while i < b.len() && CLASS[usize::from(b[i])] & SPACE != 0 {
                line_break |= b[i] == b'\n';
                i += 1;
            }
            (i, word_end(b, i))
        } else {
            let rest = &self.text[self.at..];
            let start = rest
                .char_indices()
                .find(|&(_, c)| {
                    line_break |= c == '\n';
                    !c.is_whitespace()
                })
                .map_or(self.text.len(), |(i, _)| self.at + i);
            let end = self.text[start..]
                .find(char::is_whitespace)
                .map_or(self.text.len(), |i| start + i);
            (start, end)
        };
        self.at = end;
        (start < end).then_some((start, end, line_break))
    }
}

/// Eight bytes of 0x01, for the eight-bytes-at-a-time (SWAR) byte tests below.
pub(super) const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
/// The high bit of each of eight bytes.
pub(super) const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// The end of the word of the ASCII text `b` that starts at `i`: the next whitespace byte, or the
/// end of the text. Eight bytes at a time: a word's end is then found in one or two steps that the
/// branch predictor gets right, where a loop over bytes is mispredicted at every word's end.
#[inline]
pub(super) fn word_end(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        let mut x = [0u8; 8];
        x.copy_from_slice(chunk);
        let x = u64::from_le_bytes(x);
        // The high bit of each byte below 0x21 (whitespace and other control bytes); exact for
        // the lowest such byte, as the text is ASCII.
        let low = x.wrapping_sub(ONES * 0x21) & !x & HIGHS;
        if low == 0 {
            i += 8;
            continue;
        }
        let at = i + (low.trailing_zeros() / 8) as usize;
        if CLASS[usize::from(b[at])] & SPACE != 0 {
            return at;
        }
        // A control byte that is not whitespace belongs to the word.
        i = at + 1;
    }
    while i < b.len() && CLASS[usize::from(b[i])] & SPACE == 0 {
        i += 1;
    }
    i
}

/// Whether the ASCII word `b[start..end]` has a run of three equal letters ("sooo"): the test that
/// rules most words out of [`SentimentScorer::elongated`] before any copy. Bytes of `b` after the
/// word are read, never counted.
///
/// Eight bytes at a time, six places per step: in `x ^ x >> 8` a byte is zero where it equals the
/// next, in `x ^ x >> 16` where it equals the one after; where both are zero a run of three
/// starts. Almost every word has none, and is ruled out in one or two steps without a branch per
/// byte; a word with one is confirmed by [`has_triple_letters`].
#[inline]
pub(super) fn has_triple(b: &[u8], start: usize, end: usize) -> bool {
    if end - start < 3 {
        return false;
    }
    let mut i = start;
    let maybe = loop {
        let Some(chunk) = b.get(i..i + 8) else {
            // Too near the end of the buffer to read eight bytes: byte by byte.
            break true;
        };
        let mut x = [0u8; 8];
        x.copy_from_slice(chunk);
        let x = u64::from_le_bytes(x);
        let runs = (x ^ (x >> 8)) | (x ^ (x >> 16));
        // A run may start at the first `places` bytes of the chunk (at least one, at most six);
        // the bytes after them are made non-zero.
        let places = (end - i).min(8) - 2;
        let runs = runs | (ONES & (u64::MAX << (8 * places)));
        if runs.wrapping_sub(ONES) & !runs & HIGHS != 0 {
            break true;
        }
        if end - i <= 8 {
            break false;
        }
        i += 6;
    };
    maybe && has_triple_letters(&b[start..end])
}

/// Whether `word` has a run of three equal ASCII letters, byte by byte.
pub(super) fn has_triple_letters(word: &[u8]) -> bool {
    let Some((&first, rest)) = word.split_first() else {
        return false;
    };
    let (mut prev, mut run) = (first, 1);
    for &c in rest {
        if c == prev {
            run += 1;
            // Every byte of a run is the same, so testing the third is testing them all.
            if run == 3 && c.is_ascii_alphabetic() {
                return true;
            }
        } else {
            (prev, run) = (c, 1);
        }
    }
    false
}

/// Collapses runs of three or more equal letters to `keep` letters.
pub(super) fn collapse(word: &str, keep: usize) -> Option<String> {
    let mut out = String::with_capacity(word.len());
    let mut changed = false;
    let mut prev = None;
    let mut run = 0;
    for c in word.chars() {
        if Some(c) == prev {
            run += 1;
        } else {
            run = 1;
            prev = Some(c);
        }
        if run <= keep {
            out.push(c);
        } else {
            changed = true;
        }
    }
    // Only runs of 3+ count as elongation ("sooo"), not ordinary doubles ("good").
    let has_long_run = {
        let cs: Vec<char> = word.chars().collect();
        cs.windows(3)
            .any(|w| w[0] == w[1] && w[1] == w[2] && w[0].is_alphabetic())
    };
    (changed && has_long_run).then_some(out)
}

/// Splits a camel-case hashtag body ("NeverAgain") at lower-to-upper transitions; `None` if it has
/// none.
pub(super) fn camel_parts(body: &str) -> Option<Vec<(usize, usize)>> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut prev_lower = false;
    for (i, c) in body.char_indices() {
        if c.is_uppercase() && prev_lower {
            parts.push((start, i));
            start = i;
        }
        prev_lower = c.is_lowercase();
    }
    if parts.is_empty() {
        return None;
    }
    parts.push((start, body.len()));
    // A part longer than any ordinary word means the tag was not written in camel case throughout
    // ("#wishIwasoutdrinking"): its split would be a guess, so the tag stays one token.
    if parts.iter().any(|(a, b)| b - a > MAX_CAMEL_PART) {
        return None;
    }
    Some(parts)
}

/// Appended to the lower-cased copy of a text (see [`SentimentScorer::score`]).
pub(super) const PADDING: &str = "                ";

/// The longest part of a camel-case hashtag that is still read as a word.
pub(super) const MAX_CAMEL_PART: usize = 12;

impl SentimentScorer {
    /// Splits on whitespace, trims punctuation from words (keeping emoticons such as ":)" whole),
    /// splits off emoji and camel-case hashtags, and looks every token up once. `in_place`: the
    /// text is ASCII and `lower` is its lower-cased copy, so runs are found by one pass over the
    /// bytes and no word is copied.
    pub(super) fn tokenize(
        &self,
        text: &str,
        lower: &mut String,
        in_place: bool,
        out: &mut Tokens,
    ) {
        let mut sentence = 0u32;
        for (start, end, line_break) in (Runs {
            text,
            at: 0,
            ascii: in_place,
        }) {
            // A line break between runs ends a sentence.
            if line_break && out.last().is_some_and(|t| t.sentence == sentence) {
                sentence += 1;
            }
            if in_place {
                self.push_ascii(start, end, sentence, text, lower, out);
            } else {
                let raw = &text[start..end];
                if raw.is_ascii() {
                    self.push_word(start, raw, sentence, lower, out, false);
                } else {
                    self.push_mixed(start, raw, sentence, lower, out);
                }
            }
            if matches!(text.as_bytes()[end - 1], b'.' | b'!' | b'?') {
                sentence += 1;
            }
        }
        self.resolve(text, lower, out);
        self.mark_phrases(lower, out);
    }

    /// Pushes the word of the run `text[start..end]` of an ASCII text, whose lower-cased copy is
    /// `lower` at the same offsets: what [`push_word`](Self::push_word) and
    /// [`push_token`](Self::push_token) do, over bytes, with one table lookup per byte. A hashtag
    /// (maybe several words) takes the general path.
    #[inline]
    pub(super) fn push_ascii(
        &self,
        start: usize,
        end: usize,
        sentence: u32,
        text: &str,
        lower: &mut String,
        out: &mut Tokens,
    ) {
        let b = text.as_bytes();
        let (ws, we, class) = match short_run(b, start, end) {
            Some(found) => found,
            None => {
                let (ws, we) = word_in_run(text, start, end, true);
                (ws, we, class_of(&b[ws..we]))
            }
        };
        if ws == we {
            return;
        }
        if b[start] == b'#' && (ws, we) != (start, end) {
            self.push_word(start, &text[start..end], sentence, lower, out, true);
            return;
        }
        self.push_spelling(Spelling::of_class(ws, we - ws, ws, class), sentence, out);
    }

    /// Pushes the token of a word, to be looked up by [`resolve`](Self::resolve).
    #[inline(always)]
    pub(super) fn push_spelling(&self, w: Spelling, sentence: u32, out: &mut Tokens) {
        out.push(Token {
            start: w.start,
            end: w.end,
            lstart: w.lstart,
            lend: w.lend,
            shouting: w.shouting,
            valence: None,
            booster: None,
            negation: false,
            sentence,
            elongated: false,
            phrase: false,
            absorbed: false,
            phrase_start: false,
            special: Special::Other,
            word: true,
            capitals: w.capitals,
            apostrophe: w.apostrophe,
            ascii: w.ascii,
        });
    }

    /// Looks every word of the text up: the lexicon entry of its lower-cased form, or of its
    /// spelling in capitals, or of its elongation collapsed ("sooo"). Done for all words after
    /// they are found, rather than as each is found: the lookups, each a likely cache miss, are
    /// then in one short loop with nothing between them, and the processor overlaps them.
    pub(super) fn resolve(&self, text: &str, lower: &mut String, tokens: &mut [Token]) {
        for t in tokens.iter_mut().filter(|t| t.word) {
            let (mut lstart, mut lend) = (t.lstart, t.lend);
            let mut found = self
                .words
                .get_at(lower.as_bytes(), lstart, lend)
                .map(Word::unpack)
                .unwrap_or_default();
            if t.capitals {
                let written = text.get(t.start..t.end).unwrap_or_default();
                let first = written.as_bytes().first().copied().unwrap_or_default();
                if self.cased_starts[usize::from(first)] {
                    if let Some(v) = self.cased.get(written) {
                        found.valence = Some(v);
                    }
                }
            }
            if found.valence.is_none() && found.booster.is_none() {
                let maybe_elongated = if t.ascii {
                    has_triple(lower.as_bytes(), lstart, lend)
                } else {
                    lend - lstart >= 3
                };
                if maybe_elongated {
                    if let Some((c, e)) = self.elongated(&lower[lstart..lend]) {
                        // The collapsed form goes after everything else in `lower`.
                        lstart = lower.len();
                        lower.push_str(&c);
                        lend = lower.len();
                        found = e;
                        t.elongated = true;
                    }
                }
            }
            t.negation = found.negation || (t.apostrophe && lower[lstart..lend].contains("n't"));
            (t.lstart, t.lend) = (lstart, lend);
            t.valence = found.valence;
            t.booster = found.booster;
            t.phrase_start = found.phrase_start;
            t.special = found.special;
        }
    }

    /// A word written elongated ("sooo", "goooood"): its form with runs of three or more equal
    /// letters collapsed to two, else to one, that the lexicon knows, and what it knows of it.
    #[cold]
    pub(super) fn elongated(&self, lower: &str) -> Option<(String, Word)> {
        [2, 1].into_iter().find_map(|keep| {
            let c = collapse(lower, keep)?;
            let w = self.word(&c);
            (w.valence.is_some() || w.booster.is_some()).then_some((c, w))
        })
    }

    /// Pushes the tokens of a run that is not ASCII: emoji are tokens of their own, wherever they
    /// stand; what lies between them are words.
    pub(super) fn push_mixed(
        &self,
        start: usize,
        raw: &str,
        sentence: u32,
        lower: &mut String,
        out: &mut Tokens,
    ) {
        let mut pending = 0usize;
        for (i, g) in unicode_segmentation::UnicodeSegmentation::grapheme_indices(raw, true) {
            if !g.chars().next().is_some_and(is_pictographic) {
                continue;
            }
            if pending < i {
                self.push_word(
                    start + pending,
                    &raw[pending..i],
                    sentence,
                    lower,
                    out,
                    false,
                );
            }
            let key = normalise_emoji(g);
            let lstart = lower.len();
            lower.push_str(&key);
            out.push(Token {
                start: start + i,
                end: start + i + g.len(),
                lstart,
                lend: lower.len(),
                shouting: false,
                valence: self.emoji.get(&key).copied(),
                booster: None,
                negation: false,
                sentence,
                elongated: false,
                phrase: false,
                absorbed: false,
                phrase_start: false,
                special: Special::Other,
                word: false,
                capitals: false,
                apostrophe: false,
                ascii: false,
            });
            pending = i + g.len();
        }
        if pending < raw.len() {
            self.push_word(
                start + pending,
                &raw[pending..],
                sentence,
                lower,
                out,
                false,
            );
        }
    }

    /// Pushes the word(s) of one run (a hashtag may be several words). `in_place`: `lower` is the
    /// lower-cased text, so a word's lower-cased form is at the word's own offsets; otherwise each
    /// word's is appended to `lower`.
    pub(super) fn push_word(
        &self,
        start: usize,
        raw: &str,
        sentence: u32,
        lower: &mut String,
        out: &mut Tokens,
        in_place: bool,
    ) {
        let (offset, word_end) = word_in_run(raw, 0, raw.len(), false);
        let word = &raw[offset..word_end];
        if word.is_empty() {
            return;
        }
        let at = start + offset;
        if raw.starts_with('#') && word != raw {
            if let Some(parts) = camel_parts(word) {
                let in_lexicon = if in_place {
                    self.word(&lower[at..at + word.len()]).valence.is_some()
                } else {
                    self.word(&word.to_lowercase()).valence.is_some()
                };
                if !in_lexicon {
                    for (a, b) in parts {
                        self.push_token(at + a, &word[a..b], sentence, lower, out, in_place);
                    }
                    return;
                }
            }
        }
        self.push_token(at, word, sentence, lower, out, in_place);
    }

    pub(super) fn push_token(
        &self,
        start: usize,
        word: &str,
        sentence: u32,
        lower: &mut String,
        out: &mut Tokens,
        in_place: bool,
    ) {
        let lstart = if in_place { start } else { lower.len() };
        let spelling = if word.is_ascii() {
            // Lower-cased as a block.
            if !in_place {
                lower.push_str(word);
                lower[lstart..].make_ascii_lowercase();
            }
            Spelling::ascii(start, word.as_bytes(), lstart)
        } else {
            lower.extend(word.chars().flat_map(char::to_lowercase));
            let l = &lower.as_bytes()[lstart..];
            Spelling {
                start,
                end: start + word.len(),
                lstart,
                lend: lower.len(),
                shouting: is_shouting(word),
                apostrophe: l.contains(&b'\''),
                capitals: false,
                ascii: false,
            }
        };
        self.push_spelling(spelling, sentence, out);
    }

    /// Finds phrases of the phrase lexicon (three words first, then two) within sentences.
    pub(super) fn mark_phrases(&self, lower: &str, tokens: &mut [Token]) {
        if self.phrases.is_empty() {
            return;
        }
        // Allocated on the first phrase start, which most texts do not have.
        let mut key = String::new();
        let mut i = 0;
        while i < tokens.len() {
            let mut matched = 0;
            if !tokens[i].phrase_start {
                i += 1;
                continue;
            }
            for n in [3usize, 2] {
                if i + n > tokens.len() || tokens[i + n - 1].sentence != tokens[i].sentence {
                    continue;
                }
                key.clear();
                for (k, t) in tokens[i..i + n].iter().enumerate() {
                    if k > 0 {
                        key.push(' ');
                    }
                    key.push_str(&lower[t.lstart..t.lend]);
                }
                if let Some(&v) = self.phrases.get(key.as_str()) {
                    for t in &mut tokens[i..i + n - 1] {
                        t.absorbed = true;
                        t.valence = None;
                        t.booster = None;
                        t.negation = false;
                    }
                    let last = &mut tokens[i + n - 1];
                    last.phrase = true;
                    last.valence = Some(v);
                    last.booster = None;
                    matched = n;
                    break;
                }
            }
            i += matched.max(1);
        }
    }
}
