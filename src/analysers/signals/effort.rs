//! What tells customer effort besides the model's words: the effort cues and the durations a
//! customer reports ("90 minutes on hold", "sorted in two minutes"), which are also features of
//! the model.

use super::cues::{CueKind, Hits};
use crate::types::Span;

/// The words that tell the effort: the effort cues and the reported `durations` (of
/// [`durations`]), in text order.
pub(super) fn told(hits: &Hits, durations: &[(i32, Span)]) -> Vec<Span> {
    let mut e: Vec<Span> = hits.of(CueKind::Effort).map(|h| h.span.clone()).collect();
    e.extend(durations.iter().map(|(_, s)| s.clone()));
    e.sort_by_key(|s| s.start);
    e.dedup_by_key(|s| s.start);
    e
}

/// Whether `w` is a unit of time: `Some(false)` for seconds and minutes, `Some(true)` for hours,
/// days and weeks.
fn unit_kind(w: &str) -> Option<bool> {
    // Every unit is 3 to 7 ASCII letters starting with one of these: most words end here,
    // before a dozen comparisons.
    let first = w.bytes().next().map(|b| b.to_ascii_lowercase());
    if !(3..=7).contains(&w.len()) || !matches!(first, Some(b's' | b'm' | b'h' | b'd' | b'w')) {
        return None;
    }
    let is = |any: &[&str]| any.iter().any(|k| w.eq_ignore_ascii_case(k));
    if is(&["second", "seconds", "minute", "minutes", "mins", "min"]) {
        Some(false)
    } else if is(&["hour", "hours", "hrs", "day", "days", "week", "weeks"]) {
        Some(true)
    } else {
        None
    }
}

/// Whether an ASCII text has a word that is a unit of time (words as [`durations`] splits them:
/// runs of letters and digits).
fn names_a_unit(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        if unit_kind(&text[start..i]).is_some() {
            return true;
        }
    }
    false
}

const NUMBER_WORDS: &[&str] = &[
    "a", "an", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "fifteen", "twenty", "thirty", "forty", "fifty", "ninety", "few", "couple", "half",
];

/// Spoken durations as effort: "in two minutes", "within ten minutes" are easy; "for 45 minutes",
/// "90 minutes on hold", "over two hours", "for three weeks" are hard.
pub(super) fn durations(text: &str) -> Vec<(i32, Span)> {
    // Digits in a link are no duration ([`crate::analysers::links`]); a span's words are the
    // text's as written.
    let written = text;
    let blanked = crate::analysers::links::blank(text);
    let text: &str = &blanked;
    // Most messages name no unit of time: an ASCII one is ruled out by a pass over its bytes,
    // without the list of words below.
    if text.is_ascii() && !names_a_unit(text) {
        return Vec::new();
    }
    let mut found = read_durations(text);
    if matches!(blanked, std::borrow::Cow::Owned(_)) {
        for (_, s) in &mut found {
            *s = Span::new(written, s.start, s.end);
        }
    }
    found
}

/// [`durations`], without the byte pass that rules most texts out.
fn read_durations(text: &str) -> Vec<(i32, Span)> {
    // Words with their offsets in `text` itself; keywords are ASCII, compared case-insensitively
    // (lower-casing the text could shift offsets: "İ" grows, "ẞ" shrinks).
    let mut words: Vec<(usize, &str)> = Vec::new();
    let mut begin: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            begin.get_or_insert(i);
        } else if let Some(b) = begin.take() {
            words.push((b, &text[b..i]));
        }
    }
    if let Some(b) = begin {
        words.push((b, &text[b..]));
    }
    let is = |w: &str, any: &[&str]| any.iter().any(|k| w.eq_ignore_ascii_case(k));
    let mut out = Vec::new();
    for (i, &(start, unit)) in words.iter().enumerate() {
        // Every unit below is 3 to 7 ASCII letters starting with one of these: most words end
        // here, before a dozen comparisons.
        let Some(long) = unit_kind(unit) else {
            continue;
        };
        let short = !long;
        if i == 0 {
            continue;
        }
        let count = words[i - 1].1;
        if !(count.chars().all(|c| c.is_ascii_digit()) || is(count, NUMBER_WORDS)) {
            continue;
        }
        // Skip a "than"/"about"/"an" between the preposition and the count.
        let mut j = i - 1;
        while j > 0
            && is(
                words[j - 1].1,
                &["than", "about", "around", "just", "less", "a", "an", "only"],
            )
        {
            j -= 1;
        }
        let before = if j > 0 { words[j - 1].1 } else { "" };
        let after: Vec<&str> = words[i + 1..].iter().take(3).map(|w| w.1).collect();
        let end = start + unit.len();
        let span_start = words[j.saturating_sub(1)].0.min(words[i - 1].0);
        let waiting = after
            .windows(2)
            .any(|w| is(w[0], &["on"]) && is(w[1], &["hold", "the"]))
            || after.first().is_some_and(|w| is(w, &["waiting"]));
        let weight = if waiting || is(before, &["for", "over", "spent", "waited", "waiting"]) {
            if long || waiting {
                -3
            } else {
                -2
            }
        } else if short && is(before, &["in", "within", "under", "took", "after"]) {
            3
        } else {
            continue;
        };
        out.push((weight, Span::new(text, span_start, end)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_pass_rules_out_only_texts_without_durations() {
        let corpus = [
            include_str!("../../../data/earshot/corpus/batches/b17.jsonl"),
            include_str!("../../../data/earshot/corpus/batches/b27.jsonl"),
            include_str!("../../../data/earshot/corpus/batches/b36.jsonl"),
        ];
        let mut with = 0;
        let mut texts = 0;
        for line in corpus.iter().flat_map(|c| c.lines()) {
            let v: serde_json::Value = serde_json::from_str(line).expect("corpus line");
            let text = v["text"].as_str().expect("text");
            let found = read_durations(text);
            with += usize::from(!found.is_empty());
            texts += 1;
            assert_eq!(durations(text), found, "{text}");
        }
        // The comparison means something only if both kinds of text were seen.
        assert!(with > 50 && texts - with > 500, "{with} of {texts}");
        for text in [
            "waited 45 MINUTES on hold",
            "in 2 mins!",
            "for three weeks",
            "hrs",
            "min.",
        ] {
            assert_eq!(durations(text), read_durations(text), "{text}");
        }
        assert!(!durations("on hold for 45 minutes").is_empty());
    }
}
