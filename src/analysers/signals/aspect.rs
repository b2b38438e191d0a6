//! Readings per brand: the intents and the journey phase that concern each mention, so that
//! "Corvid fiber contract ends in June, what are people paying for Larkspur these days?" gives
//! Corvid `churn_risk` and the phase `churn`, and Larkspur a prospect's `consideration`.
//!
//! A second model of the same form as the message's ([`SignalModel`], its intent and phase
//! outputs), over features of the mention's place in the text: the words of its sentence, the
//! words just before and after it (where "switching from" and "moving to" are), the other brands
//! around it (as `<other>`, never by name, so the model learns roles, not brands), whether it is
//! a competitor or a product, and the message's kind. Trained on the corpus's per-brand labels by
//! `earshot train-signals` ([`super::train`]), thresholds tuned on dev.

use std::borrow::Cow;

use crate::emotion::hash_parts;
use crate::interaction::Kind;
use crate::types::Mention;

use super::model::{family, SignalModel, Target, BUCKETS, LABELS};

/// A word of the text with its byte range, lower-cased; words inside a mention are its role.
struct Word<'a> {
    start: usize,
    end: usize,
    text: Cow<'a, str>,
}

/// The text's words, with every mention's words replaced by one token: `<this>` for `this`
/// mention, `<other>` or `<rival>` (a competitor) for the others.
fn words<'a>(text: &'a str, mentions: &[Mention], this: usize) -> Vec<Word<'a>> {
    let mut out: Vec<Word<'a>> = Vec::new();
    let mut start: Option<usize> = None;
    let push = |s: usize, e: usize, out: &mut Vec<Word<'a>>| {
        if let Some((k, m)) = mentions
            .iter()
            .enumerate()
            .find(|(_, m)| m.span.start <= s && e <= m.span.end.max(m.span.start + 1))
        {
            let role = if k == this {
                "<this>"
            } else if m.competitor {
                "<rival>"
            } else {
                "<other>"
            };
            if out
                .last()
                .is_some_and(|w| w.text == role && w.end >= m.span.start)
            {
                return;
            }
            out.push(Word {
                start: m.span.start,
                end: m.span.end,
                text: role.into(),
            });
        } else {
            out.push(Word {
                start: s,
                end: e,
                text: crate::analysers::lowercase(&text[s..e]),
            });
        }
    };
    for (at, c) in text.char_indices() {
        if c.is_alphanumeric() || c == '\'' || c == '@' || c == '#' {
            start.get_or_insert(at);
        } else if let Some(s) = start.take() {
            push(s, at, &mut out);
        }
    }
    if let Some(s) = start {
        push(s, text.len(), &mut out);
    }
    out
}

fn tag(parts: &[&[u8]]) -> u32 {
    hash_parts(parts, 17) & (BUCKETS as u32 - 1)
}

/// The features of mention `this` of `mentions` in `text`.
pub(super) fn features(text: &str, kind: Kind, mentions: &[Mention], this: usize) -> Vec<u32> {
    let Some(m) = mentions.get(this) else {
        return Vec::new();
    };
    let ws = words(text, mentions, this);
    let at = ws.iter().position(|w| w.text == "<this>").unwrap_or(0);
    let ends = |c: char| matches!(c, '.' | '!' | '?' | '\n' | ';');
    let sentence_start = text[..m.span.start].rfind(ends).map_or(0, |p| p + 1);
    let sentence_end = text[m.span.end.min(text.len())..]
        .find(ends)
        .map_or(text.len(), |p| m.span.end + p);
    let mut out: Vec<u32> = Vec::with_capacity(64);
    out.push(tag(&[b"<bias>"]));
    out.push(tag(&[b"kind:", kind.as_str().as_bytes()]));
    if m.competitor {
        out.push(tag(&[b"competitor"]));
    }
    if m.product.is_some() {
        out.push(tag(&[b"product"]));
    }
    let others = mentions.iter().filter(|o| o.brand != m.brand).count();
    out.push(tag(&[b"others:", &[others.min(3) as u8]]));
    if mentions.iter().position(|o| o.brand == m.brand) == Some(this) {
        out.push(tag(&[b"first-of-brand"]));
    }
    if this == 0 {
        out.push(tag(&[b"first"]));
    }
    let sentence: Vec<&Word> = ws
        .iter()
        .filter(|w| w.start >= sentence_start && w.end <= sentence_end)
        .collect();
    for w in &sentence {
        out.push(tag(&[b"s:", w.text.as_bytes()]));
    }
    for pair in sentence.windows(2) {
        out.push(tag(&[
            b"s2:",
            pair[0].text.as_bytes(),
            b" ",
            pair[1].text.as_bytes(),
        ]));
    }
    for d in 1..=5usize {
        if let Some(w) = at.checked_sub(d).and_then(|k| ws.get(k)) {
            out.push(tag(&[b"L:", w.text.as_bytes()]));
            if d <= 2 {
                out.push(tag(&[b"L", &[d as u8], b":", w.text.as_bytes()]));
            }
        }
        if let Some(w) = ws.get(at + d) {
            out.push(tag(&[b"R:", w.text.as_bytes()]));
            if d <= 2 {
                out.push(tag(&[b"R", &[d as u8], b":", w.text.as_bytes()]));
            }
        }
    }
    for w in &ws {
        out.push(tag(&[b"t:", w.text.as_bytes()]));
    }
    if text.contains('?') {
        out.push(tag(&[b"<question>"]));
    }
    out
}

/// One mention's intents and phase.
type Reading = (Vec<Cow<'static, str>>, Option<Cow<'static, str>>);

/// Sets every mention's intents and phase from `model`.
pub(super) fn read(model: &SignalModel, text: &str, kind: Kind, mentions: &mut [Mention]) {
    let target = Target {
        mention: true,
        ..Target::default()
    };
    let readings: Vec<Reading> = (0..mentions.len())
        .map(|k| {
            let on = model.decide(&model.predict(&features(text, kind, mentions, k)), target);
            let name = |o: usize| LABELS[o].split_once(':').map_or(LABELS[o], |(_, n)| n);
            let intents = family("intent")
                .filter(|&o| on[o])
                .map(|o| Cow::Borrowed(name(o)))
                .collect();
            let phase = family("phase")
                .find(|&o| on[o])
                .map(|o| Cow::Borrowed(name(o)));
            (intents, phase)
        })
        .collect();
    for (m, (intents, phase)) in mentions.iter_mut().zip(readings) {
        m.intents = intents;
        m.journey_phase = phase;
    }
}

#[cfg(test)]
mod tests {
    use super::super::roles::test_mention as mention;
    use super::*;

    #[test]
    fn features_see_roles_not_names() {
        let a = "Leaving Corvid for Larkspur next month";
        let b = "Leaving Skylane for Fernbank next month";
        let ma = [mention(a, "Corvid", true), mention(a, "Larkspur", false)];
        let mb = [mention(b, "Skylane", true), mention(b, "Fernbank", false)];
        assert_eq!(
            features(a, Kind::SocialPost, &ma, 0),
            features(b, Kind::SocialPost, &mb, 0)
        );
        assert_ne!(
            features(a, Kind::SocialPost, &ma, 0),
            features(a, Kind::SocialPost, &ma, 1),
            "the brand left and the brand moved to read differently"
        );
        assert!(features(a, Kind::SocialPost, &ma, 5).is_empty());
    }
}
