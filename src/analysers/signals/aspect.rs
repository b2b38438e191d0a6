//! Readings per brand: the intents and the journey phase that concern each mention, so that
//! "Corvid fiber contract ends in June, what are people paying for Larkspur these days?" gives
//! Corvid `churn_risk` and the phase `churn`, and Larkspur a prospect's `consideration`.
//!
//! A second model of the same form as the message's ([`SignalModel`], its intent and phase
//! outputs), over features of the mention's place in the text: the words of its sentence, the
//! words just before and after it (where "switching from" and "moving to" are), the other brands
//! around it (as `<other>`, never by name, so the model learns roles, not brands), whether it is
//! a competitor or a product, the message's kind, and the cue lexicon's intent and phase hits
//! placed relative to the mention ([`cue_features`]). Trained on the corpus's per-brand labels by
//! `earshot train-signals` ([`super::train`]), thresholds tuned on dev.

use std::borrow::Cow;

use crate::emotion::hash_parts;
use crate::interaction::Kind;
use crate::types::Mention;

use super::cues::{CueKind, Hits};
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
            .find(|(_, m)| !m.spanless() && m.span.start <= s && e <= m.span.end)
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

/// The features of mention `this` of `mentions` in `text`, whose cue hits are `hits`.
pub(super) fn features(
    text: &str,
    kind: Kind,
    mentions: &[Mention],
    this: usize,
    hits: &Hits,
) -> Vec<u32> {
    let Some(m) = mentions.get(this) else {
        return Vec::new();
    };
    // The words around a mention, not a link's ([`crate::analysers::links`]): here, where the
    // trainer and the analyser both read them.
    let blanked = crate::analysers::links::blank(text);
    let text: &str = &blanked;
    let ws = words(text, mentions, this);
    // A recipient (a ticket's, a reply's) that the words do not name has no place in them: its
    // sentence is the whole text, and no word stands before or after it.
    let at = (!m.spanless()).then(|| ws.iter().position(|w| w.text == "<this>").unwrap_or(0));
    let ends = |c: char| matches!(c, '.' | '!' | '?' | '\n' | ';');
    let (sentence_start, sentence_end) = if m.spanless() {
        (0, text.len())
    } else {
        (
            text[..m.span.start].rfind(ends).map_or(0, |p| p + 1),
            text[m.span.end.min(text.len())..]
                .find(ends)
                .map_or(text.len(), |p| m.span.end + p),
        )
    };
    let mut out: Vec<u32> = Vec::with_capacity(64);
    out.push(tag(&[b"<bias>"]));
    out.push(tag(&[b"kind:", kind.as_str().as_bytes()]));
    if m.competitor {
        out.push(tag(&[b"competitor"]));
    }
    if m.recipient {
        out.push(tag(&[b"recipient"]));
    }
    if m.spanless() {
        out.push(tag(&[b"unnamed"]));
    }
    // A product the words name. A recipient's with no words comes from the ticket's form or the
    // account replied to, and
    // reading it changed nothing leave-one-batch-out (docs/analysis.md, "The company a ticket
    // was sent to").
    if m.product.is_some() && !m.spanless() {
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
        let Some(at) = at else {
            break;
        };
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
    cue_features(m, mentions, hits, (sentence_start, sentence_end), &mut out);
    out
}

/// The intent and phase cues of the text as features of mention `m`: on which side of it each
/// is, whether in its sentence, and whether `m`'s brand is the mention nearest to the cue (a cue
/// such as "contract ends" or "paying for" usually concerns the brand it stands beside). The cue
/// lexicon names what a writer's words do in terms that carry to words the model has not read.
/// "Nearest" is in bytes between the spans, and a tie goes to the mention that comes first.
/// Leave-one-batch-out (`earshot train-signals --cross-batches --aspects --across 0`), mean
/// micro-F1 over 45 batches, intents / phase: 0.728 / 0.683 without them, 0.736 / 0.686 with
/// them (intents better for 39 batches left out, worse for 4).
fn cue_features(
    m: &Mention,
    mentions: &[Mention],
    hits: &Hits,
    (sentence_start, sentence_end): (usize, usize),
    out: &mut Vec<u32>,
) {
    let distance = |a: &Mention, (s, e): (usize, usize)| {
        if a.spanless() {
            // No place in the text: never the mention nearest to a cue.
            usize::MAX
        } else if e <= a.span.start {
            a.span.start - e
        } else {
            // After it, or over it (0).
            s.saturating_sub(a.span.end)
        }
    };
    for h in hits
        .all()
        .filter(|h| matches!(h.cue.kind, CueKind::Intent | CueKind::Phase))
    {
        let label = h.cue.label.as_bytes();
        let (s, e) = (h.span.start, h.span.end);
        let side: &[u8] = if m.spanless() {
            b"T"
        } else if e <= m.span.start {
            b"L"
        } else if s >= m.span.end {
            b"R"
        } else {
            b"O"
        };
        let scope: &[u8] = if s >= sentence_start && e <= sentence_end {
            b"s"
        } else {
            b"t"
        };
        let nearest = mentions
            .iter()
            .min_by_key(|o| distance(o, (s, e)))
            .is_some_and(|o| o.brand == m.brand);
        let near: &[u8] = if nearest { b"near" } else { b"far" };
        out.push(tag(&[b"cue:", label]));
        out.push(tag(&[b"cue", side, scope, b":", label]));
        out.push(tag(&[b"cue-", near, b":", label]));
        out.push(tag(&[b"cue-", near, side, b":", label]));
    }
}

/// One mention's intents and phase.
type Reading = (Vec<Cow<'static, str>>, Option<Cow<'static, str>>);

/// Whether `mentions` name two brands or more: the messages read mention by mention (a message
/// about one brand gives its mentions its own readings).
pub(super) fn several_brands(mentions: &[Mention]) -> bool {
    mentions.iter().any(|m| m.brand != mentions[0].brand)
}

/// Sets every mention's intents and phase from `model`; `hits` are the text's cue hits.
pub(super) fn read(
    model: &SignalModel,
    text: &str,
    kind: Kind,
    mentions: &mut [Mention],
    hits: &Hits,
) {
    let target = Target {
        mention: true,
        ..Target::default()
    };
    let readings: Vec<Reading> = (0..mentions.len())
        .map(|k| {
            let on = model.read(&features(text, kind, mentions, k, hits), target);
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
        let detector = super::super::SignalDetector::untrained().unwrap();
        let (ha, hb) = (detector.hits(a), detector.hits(b));
        assert!(ha.all().count() > 0, "a cue to read");
        assert_eq!(
            features(a, Kind::SocialPost, &ma, 0, &ha),
            features(b, Kind::SocialPost, &mb, 0, &hb)
        );
        assert_ne!(
            features(a, Kind::SocialPost, &ma, 0, &ha),
            features(a, Kind::SocialPost, &ma, 1, &ha),
            "the brand left and the brand moved to read differently"
        );
        assert!(features(a, Kind::SocialPost, &ma, 5, &ha).is_empty());
    }

    #[test]
    fn a_recipient_the_words_do_not_name_is_read_from_the_whole_text() {
        let text = "Please cancel at the end of the month, I signed up with Corvid";
        let mut ms = vec![mention(text, "Corvid", true)];
        let detector = super::super::SignalDetector::untrained().unwrap();
        let hits = detector.hits(text);
        let alone = features(text, Kind::SupportTicket, &ms, 0, &hits);
        let mut to = mention(text, "Corvid", false);
        to.brand = "larkspur".into();
        to.span = crate::types::Span::new("", 0, 0);
        to.recipient = true;
        assert!(to.spanless());
        ms.push(to);
        let f = features(text, Kind::SupportTicket, &ms, 1, &hits);
        assert!(f.contains(&tag(&[b"recipient"])) && f.contains(&tag(&[b"unnamed"])));
        // The ticket form's product is the mention's, but not what the words say.
        ms[1].product = Some("larkspur-fiber".into());
        assert_eq!(features(text, Kind::SupportTicket, &ms, 1, &hits), f);
        // No word stands before or after it, and its sentence is the whole text.
        for w in ["please", "cancel", "the", "<rival>"] {
            assert!(!f.contains(&tag(&[b"L:", w.as_bytes()])), "{w}");
            assert!(!f.contains(&tag(&[b"R:", w.as_bytes()])), "{w}");
            assert!(f.contains(&tag(&[b"s:", w.as_bytes()])), "{w}");
        }
        // The named mention keeps its words, and reads one more brand beside it.
        let named = features(text, Kind::SupportTicket, &ms, 0, &hits);
        assert!(named.contains(&tag(&[b"L", &[1], b":", b"with"])));
        assert!(!named.contains(&tag(&[b"recipient"])));
        assert_ne!(named, alone);
    }
}
