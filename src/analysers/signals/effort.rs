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

const NUMBER_WORDS: &[&str] = &[
    "a", "an", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "fifteen", "twenty", "thirty", "forty", "fifty", "ninety", "few", "couple", "half",
];

/// Spoken durations as effort: "in two minutes", "within ten minutes" are easy; "for 45 minutes",
/// "90 minutes on hold", "over two hours", "for three weeks" are hard.
pub(super) fn durations(text: &str) -> Vec<(i32, Span)> {
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
        let first = unit.bytes().next().map(|b| b.to_ascii_lowercase());
        if !(3..=7).contains(&unit.len())
            || !matches!(first, Some(b's' | b'm' | b'h' | b'd' | b'w'))
        {
            continue;
        }
        let short = is(
            unit,
            &["second", "seconds", "minute", "minutes", "mins", "min"],
        );
        let long = is(
            unit,
            &["hour", "hours", "hrs", "day", "days", "week", "weeks"],
        );
        if !(short || long) || i == 0 {
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
