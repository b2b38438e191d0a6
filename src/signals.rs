//! The life and intent behind a message: emotional context, customer effort, intents, journey phase,
//! sarcasm — and, from all of the analysis, a priority and a routing.
//!
//! Signals come from a cue lexicon (`data/earshot/cues.tsv`: case-insensitive whole-word phrases),
//! matched in one Aho-Corasick pass, combined with the sentiment and the mentions. Every signal
//! carries the spans of the words that triggered it. Priority and routing rules are all in
//! [`priority`] and [`routing`], documented there.

use std::borrow::Cow;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::{Deserialize, Serialize};

use crate::analyze::Mention;
use crate::interaction::{Interaction, Kind, Segment};
use crate::sentiment::{Label, Scores};
use crate::span::Span;

const CUES: &str = include_str!("../data/earshot/cues.tsv");

/// A labelled signal with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub label: Cow<'static, str>,
    pub evidence: Vec<Span>,
    /// For `switching`: the competitor's brand id, when the catalog knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub competitor: Option<String>,
    /// For `need`: the job the customer wants done, as a short phrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

/// Customer effort: -5 (very hard) to +5 (very easy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Effort {
    pub score: i8,
    pub evidence: Vec<Span>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sarcasm {
    pub likely: bool,
    pub evidence: Vec<Span>,
}

/// Everything this module finds.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Signals {
    pub context: Vec<Signal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<Effort>,
    pub intents: Vec<Signal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journey_phase: Option<Cow<'static, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sarcasm: Option<Sarcasm>,
    pub priority: u8,
    pub routing: Vec<Cow<'static, str>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CueKind {
    Context,
    Effort,
    Intent,
    Phase,
    Sarcasm,
}

#[derive(Debug, Clone)]
struct Cue {
    kind: CueKind,
    label: &'static str,
    weight: i32,
}

/// The cue automaton, built once.
#[derive(Debug, Clone)]
pub struct SignalDetector {
    cues: Vec<Cue>,
    automaton: AhoCorasick,
}

struct Hit<'c> {
    cue: &'c Cue,
    span: Span,
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(char::is_alphanumeric)
}

fn boundary(text: &str, start: usize, end: usize) -> bool {
    !is_word(text[..start].chars().next_back()) && !is_word(text[end..].chars().next())
}

/// Inflections a context cue's last word may carry: "hospital" matches "hospitals", "deadline"
/// "deadlines", "travel" "travelling". A bare "d" is not one ("fee" must not match "feed").
const INFLECTIONS: &[&str] = &["s", "es", "'s", "\u{2019}s", "ed", "ing", "ling", "led"];

/// Where a cue matched at `start..end` ends with an inflection, if it starts a word and its
/// last word continues with one of [`INFLECTIONS`] and then a word boundary.
fn inflected_end(text: &str, start: usize, end: usize) -> Option<usize> {
    if is_word(text[..start].chars().next_back()) {
        return None;
    }
    let rest = &text[end..];
    INFLECTIONS.iter().find_map(|suffix| {
        let head = rest.get(..suffix.len())?;
        (head.eq_ignore_ascii_case(suffix) && !is_word(rest[suffix.len()..].chars().next()))
            .then_some(end + suffix.len())
    })
}

impl Default for SignalDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl SignalDetector {
    pub fn new() -> SignalDetector {
        let mut cues = Vec::new();
        let mut patterns = Vec::new();
        for line in CUES
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let cols: Vec<&'static str> = line.split('\t').collect();
            let [kind, label, weight, phrase] = cols[..] else {
                continue;
            };
            let kind = match kind {
                "context" => CueKind::Context,
                "effort" => CueKind::Effort,
                "intent" => CueKind::Intent,
                "phase" => CueKind::Phase,
                "sarcasm" => CueKind::Sarcasm,
                _ => continue,
            };
            let cue = Cue {
                kind,
                label,
                weight: weight.parse().unwrap_or(1),
            };
            for variant in spellings(phrase) {
                cues.push(cue.clone());
                patterns.push(variant);
            }
        }
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            // Not a DFA: in a single-thread bench a DFA is about a fifth faster, but it is 3 MB,
            // and in the daemon, beside the emotion model and the Kafka buffers, it misses the
            // cache. perf over 300k messages: overlapping search 8.6-9.0% of the daemon's CPU
            // with a DFA, 6.3% with this one.
            .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
            .build(&patterns)
            .unwrap_or_else(|_| {
                AhoCorasick::new(Vec::<&str>::new()).expect("empty automaton builds")
            });
        SignalDetector { cues, automaton }
    }

    /// Detects the signals of one interaction, given its sentiment and mentions.
    pub fn detect(
        &self,
        i: &Interaction,
        sentiment: &Scores,
        mentions: &[Mention],
        intensity: u8,
    ) -> Signals {
        let text = i.text.as_str();
        // Overlapping search: "cancel my contract" and "cancel" both count; spans pick the longest.
        // Context cues also match their inflections ("hospitals", "flights", "deadlines").
        let hits: Vec<Hit> = self
            .automaton
            .find_overlapping_iter(text)
            .filter_map(|m| {
                let cue = &self.cues[m.pattern().as_usize()];
                let end = if boundary(text, m.start(), m.end()) {
                    m.end()
                } else if cue.kind == CueKind::Context {
                    inflected_end(text, m.start(), m.end())?
                } else {
                    return None;
                };
                Some(Hit {
                    cue,
                    span: Span::new(text, m.start(), end),
                })
            })
            .collect();
        let of = |k: CueKind| hits.iter().filter(move |h| h.cue.kind == k);

        let mut context: Vec<Signal> = Vec::new();
        for h in of(CueKind::Context) {
            push(&mut context, h.cue.label, h.span.clone());
        }

        let effort = {
            let mut e: Vec<(i32, Span)> = of(CueKind::Effort)
                .map(|h| (h.cue.weight, h.span.clone()))
                .collect();
            e.extend(durations(text));
            e.sort_by_key(|(_, s)| s.start);
            e.dedup_by_key(|(_, s)| s.start);
            (!e.is_empty()).then(|| Effort {
                score: effort_score(&e),
                evidence: e.into_iter().map(|(_, s)| s).collect(),
            })
        };

        let negative_word = sentiment.evidence.iter().any(|e| e.valence < 0.0);
        let sarcasm_hits: Vec<Span> = of(CueKind::Sarcasm).map(|h| h.span.clone()).collect();
        let strong = of(CueKind::Sarcasm).any(|h| h.cue.weight >= 2);
        let sarcastic = !sarcasm_hits.is_empty()
            && (strong
                || negative_word
                || of(CueKind::Intent).any(|h| h.cue.label == "complaint")
                || effort.as_ref().is_some_and(|e| e.score < 0));
        let sarcasm = (!sarcasm_hits.is_empty()).then(|| Sarcasm {
            likely: sarcastic,
            evidence: sarcasm_hits.clone(),
        });

        let mut intents: Vec<Signal> = Vec::new();
        for h in of(CueKind::Intent) {
            push(&mut intents, h.cue.label, h.span.clone());
        }
        // Switching is between providers: it needs a competitor named (or "another network").
        // Towards a competitor it is churn and names the competitor; away from one it is a win.
        let mut won = false;
        if let Some(at) = intents.iter().position(|s| s.label == "switching") {
            match switch_direction(text, mentions) {
                Switch::Away(competitor) => {
                    intents[at].competitor = competitor;
                    if !intents.iter().any(|s| s.label == "churn_risk") {
                        let ev = intents[at].evidence.clone();
                        intents.push(Signal {
                            label: "churn_risk".into(),
                            evidence: ev,
                            competitor: None,
                            job: None,
                        });
                    }
                }
                Switch::Towards(competitor) => {
                    intents[at].competitor = competitor;
                    won = true;
                }
                Switch::None => {
                    intents.remove(at);
                }
            }
        }
        // Needs carry the job: what follows the cue, to the end of its clause, at most 12 words.
        for s in intents.iter_mut().filter(|s| s.label == "need") {
            if let Some(ev) = s.evidence.first() {
                let rest = &text[ev.end..];
                let clause = rest
                    .split(['.', '!', '?', '\n', ',', ';'])
                    .next()
                    .unwrap_or("");
                let job: Vec<&str> = clause.split_whitespace().take(12).collect();
                if !job.is_empty() {
                    s.job = Some(job.join(" "));
                }
            }
        }
        // A question: a question mark (of a real question), or a question cue where the post
        // leaves the mark out ("anyone know if the hub works with Sonos").
        if let Some(at) = questions(text).next() {
            push(&mut intents, "question", Span::new(text, at, at + 1));
        }
        let neg_ev: Vec<Span> = sentiment
            .evidence
            .iter()
            .filter(|e| e.valence < 0.0)
            .map(|e| e.span.clone())
            .collect();
        // "Please", "help" and "thanks" are polite, not praise; and a positive word in a question
        // ("which one has better support?") or a wish ("would be great if") is not praise either.
        let need_starts: Vec<usize> = intents
            .iter()
            .filter(|s| s.label == "need")
            .flat_map(|s| s.evidence.iter().map(|e| e.start))
            .collect();
        let pos_ev: Vec<Span> = sentiment
            .evidence
            .iter()
            .filter(|e| {
                e.valence > 0.0 && !POLITE.iter().any(|p| p.eq_ignore_ascii_case(&e.span.text))
            })
            .filter(|e| !in_question_or_wish(text, e.span.start, &need_starts))
            .map(|e| e.span.clone())
            .collect();
        // Sarcasm is never praise.
        let praise_cue = !sarcastic && intents.iter().any(|s| s.label == "praise");
        if sarcastic {
            intents.retain(|s| s.label != "praise");
        }
        let complaint_cue = intents.iter().any(|s| s.label == "complaint");
        // A complaint: negative words (unless the customer says something works), sarcasm, or a
        // customer describing real effort.
        let hard = effort.as_ref().filter(|e| e.score <= -2);
        if ((sentiment.label == Label::Negative && !praise_cue) || sarcastic || hard.is_some())
            && !complaint_cue
        {
            let mut ev = neg_ev.clone();
            ev.extend(sarcasm_hits.iter().cloned());
            ev.extend(hard.iter().flat_map(|e| e.evidence.iter().cloned()));
            intents.push(Signal {
                label: "complaint".into(),
                evidence: ev,
                competitor: None,
                job: None,
            });
        }
        if sentiment.label == Label::Positive
            && !sarcastic
            && !praise_cue
            // Praise is what the words say: the lexicon's score, which `pos_ev` explains.
            && sentiment.lexicon_compound >= 0.3
            && !pos_ev.is_empty()
        {
            intents.push(Signal {
                label: "praise".into(),
                evidence: pos_ev,
                competitor: None,
                job: None,
            });
        }
        // A ticket is a request for support, unless it only says thanks.
        let thanks_only = intents.iter().all(|s| s.label == "praise") && !intents.is_empty();
        if i.kind == Kind::SupportTicket
            && !thanks_only
            && !intents.iter().any(|s| s.label == "support_request")
        {
            intents.push(Signal {
                label: "support_request".into(),
                evidence: Vec::new(),
                competitor: None,
                job: None,
            });
        }
        intents.sort_by(|a, b| a.label.cmp(&b.label));

        let has = |l: &str| intents.iter().any(|s| s.label == l);
        // Journey phase, most specific first: churn, then the phase cues in the order of
        // PHASE_ORDER, then what the intents imply.
        let cue_phase = PHASE_ORDER
            .iter()
            .find(|p| of(CueKind::Phase).any(|h| h.cue.label == **p));
        let journey_phase: Option<Cow<'static, str>> = if has("churn_risk") {
            Some("churn".into())
        } else if won {
            Some("purchase".into())
        } else if let Some(p) = cue_phase {
            Some((*p).into())
        } else if has("support_request") {
            Some("support".into())
        } else if has("purchase_intent") {
            Some("consideration".into())
        } else if has("recommendation") {
            Some("loyalty".into())
        } else if has("complaint") || has("praise") || has("need") || !mentions.is_empty() {
            Some("usage".into())
        } else {
            None
        };

        let mut s = Signals {
            context,
            effort,
            intents,
            journey_phase,
            sarcasm,
            priority: 0,
            routing: Vec::new(),
        };
        s.priority = priority(i, sentiment, &s, intensity);
        s.routing = routing(&s, mentions);
        s
    }
}

/// Words VADER rates positive that are politeness in a request, not praise.
const POLITE: &[&str] = &[
    "please",
    "help",
    "helps",
    "thanks",
    "thank",
    "like",
    "want",
    "wish",
    "hope",
    "sure",
    "ok",
    "okay",
    "kind",
    "regards",
    "welcome",
    "yes",
    "care",
    "free",
    "fine",
    "well",
    "hi",
    "hello",
    "dear",
    "appreciate",
    "appreciated",
    "grateful",
    "priority",
    "safe",
    "safer",
    "secure",
];

/// Where the sentence holding byte `at` starts: after the last sentence end before it.
fn sentence_start(text: &str, at: usize) -> usize {
    text[..at].rfind(['.', '!', '?', '\n']).map_or(0, |p| p + 1)
}

/// Whether byte `at` lies in a question (its sentence ends with "?") or after a wish in the same
/// sentence.
fn in_question_or_wish(text: &str, at: usize, wishes: &[usize]) -> bool {
    let end = text[at..]
        .find(['.', '!', '?', '\n'])
        .map_or(text.len(), |p| at + p);
    let start = sentence_start(text, at);
    text[end..].starts_with('?') || wishes.iter().any(|w| (start..=at).contains(w))
}

/// The spellings a cue is matched in: as written, with a typographic apostrophe ("can’t", as
/// phones type it), and without the apostrophe ("cant", "im leaving") unless that makes another
/// word ("we'll" is not "well", "i'll" is not "ill").
fn spellings(phrase: &str) -> Vec<String> {
    let mut out = vec![phrase.to_string()];
    if phrase.contains('\'') {
        out.push(phrase.replace('\'', "\u{2019}"));
        let bare = phrase.replace('\'', "");
        let clash = bare.split(' ').any(|w| {
            matches!(
                w,
                "ill" | "well" | "were" | "shell" | "hell" | "wed" | "id" | "shed"
            )
        });
        if !clash {
            out.push(bare);
        }
    }
    out
}

/// The order in which phase cues decide the phase when several are present: the most specific
/// moment of the journey wins (setting up beats having bought; buying beats comparing).
const PHASE_ORDER: [&str; 6] = [
    "onboarding",
    "purchase",
    "consideration",
    "awareness",
    "loyalty",
    "support",
];

/// Byte offsets of the question marks of real questions: a request phrased as a question ("Can
/// you check...?", "Could someone...?") is a request, not a question.
fn questions(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.match_indices('?')
        .map(|(at, _)| at)
        .filter(move |&at| {
            let sentence = text[sentence_start(text, at)..at].trim_start();
            ![
                "can you",
                "could you",
                "can someone",
                "could someone",
                "can somebody",
                "would you",
                "will you",
                "please",
                "can i get",
                "could i get",
            ]
            .iter()
            .any(|p| {
                sentence
                    .get(..p.len())
                    .is_some_and(|h| h.eq_ignore_ascii_case(p))
            })
        })
}

/// The effort of a set of weighted cues: the hardest cue sets the floor and further hard cues
/// push it down; easy cues count only when nothing was hard.
fn effort_score(cues: &[(i32, Span)]) -> i8 {
    let hard: Vec<i32> = cues.iter().map(|c| c.0).filter(|w| *w < 0).collect();
    let score = if hard.is_empty() {
        cues.iter().map(|c| c.0).max().unwrap_or(0) + (cues.len() as i32 - 1).min(1)
    } else {
        hard.iter().min().copied().unwrap_or(0) - (hard.len() as i32 - 1).min(2)
    };
    score.clamp(-5, 5) as i8
}

const NUMBER_WORDS: &[&str] = &[
    "a", "an", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "fifteen", "twenty", "thirty", "forty", "fifty", "ninety", "few", "couple", "half",
];

/// Spoken durations as effort: "in two minutes", "within ten minutes" are easy; "for 45 minutes",
/// "90 minutes on hold", "over two hours", "for three weeks" are hard.
fn durations(text: &str) -> Vec<(i32, Span)> {
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

/// Which way a switch goes, seen from the brand the catalog listens for.
enum Switch {
    /// Leaving for a competitor (named when the catalog knows it).
    Away(Option<String>),
    /// Coming from a competitor.
    Towards(Option<String>),
    /// No provider on the other side: not a switch ("move to a cheaper plan").
    None,
}

fn switch_direction(text: &str, mentions: &[Mention]) -> Switch {
    let lower_before = |at: usize| -> String {
        let from = text[..at]
            .char_indices()
            .rev()
            .nth(24)
            .map_or(0, |(i, _)| i);
        text[from..at].to_lowercase()
    };
    let competitor = mentions.iter().find(|m| m.competitor);
    let Some(c) = competitor else {
        let lower = text.to_lowercase();
        let other = [
            "another network",
            "another provider",
            "another supplier",
            "a new provider",
        ]
        .iter()
        .any(|p| lower.contains(p));
        return if other {
            Switch::Away(None)
        } else {
            Switch::None
        };
    };
    let before = lower_before(c.span.start);
    let before = before.trim_end();
    let from_words = [
        "from",
        "left",
        "ditched",
        "bye",
        "leaving",
        "dumped",
        "after years with",
    ];
    let source = from_words.iter().any(|w| before.ends_with(w));
    // "switched from Corvid to Larkspur", "left Skylane for Larkspur": the competitor is the source.
    if source {
        return Switch::Towards(Some(c.brand.clone()));
    }
    Switch::Away(Some(c.brand.clone()))
}

fn push(into: &mut Vec<Signal>, label: &'static str, span: Span) {
    match into.iter_mut().find(|s| s.label == label) {
        Some(s) => {
            if !s.evidence.iter().any(|e| e.start == span.start) {
                s.evidence.push(span);
            }
        }
        None => into.push(Signal {
            label: label.into(),
            evidence: vec![span],
            competitor: None,
            job: None,
        }),
    }
}

/// Priority 0-100, all rules in one place:
///
/// | rule | points |
/// |---|---|
/// | base | 10 |
/// | complaint | +20 |
/// | churn risk | +20; switching to a competitor +10 more |
/// | effort ≤ -3 | +15 (≤ -1: +5) |
/// | negative sentiment: the lexicon's compound ≤ -0.5 | +10 |
/// | health, family or money context | +10 |
/// | emotional intensity ≥ 4 | +5 |
/// | business customer, or gold/platinum tier | +10 |
/// | public post by an author with ≥ 10,000 followers, or verified | +10 |
/// | praise or recommendation only (no complaint, no churn) | capped at 30 |
pub fn priority(i: &Interaction, sentiment: &Scores, s: &Signals, intensity: u8) -> u8 {
    let has = |l: &str| s.intents.iter().any(|x| x.label == l);
    let mut p: i32 = 10;
    if has("complaint") {
        p += 20;
    }
    if has("churn_risk") {
        p += 20;
    }
    if has("switching") {
        p += 10;
    }
    match s.effort.as_ref().map(|e| e.score) {
        Some(e) if e <= -3 => p += 15,
        Some(e) if e <= -1 => p += 5,
        _ => {}
    }
    // The lexicon's score, which its evidence explains (the emotion model does not move it).
    if sentiment.lexicon_compound <= -0.5 {
        p += 10;
    }
    if s.context
        .iter()
        .any(|c| matches!(c.label.as_ref(), "health" | "family" | "money"))
    {
        p += 10;
    }
    if intensity >= 4 {
        p += 5;
    }
    let tier = i.party.value_tier.as_deref().map(str::to_ascii_lowercase);
    if i.party.segment == Some(Segment::Business)
        || matches!(tier.as_deref(), Some("gold" | "platinum"))
    {
        p += 10;
    }
    if i.kind == Kind::SocialPost
        && (i.party.followers.unwrap_or(0) >= 10_000 || i.party.verified == Some(true))
    {
        p += 10;
    }
    if !has("complaint") && !has("churn_risk") && (has("praise") || has("recommendation")) {
        p = p.min(30);
    }
    p.clamp(0, 100) as u8
}

/// Routing, all rules in one place: **support** for support requests, complaints and questions;
/// **product** for needs and feature requests; **marketing** for praise, recommendations and the
/// awareness and consideration phases; **strategy** for churn risk and switching (share of voice).
pub fn routing(s: &Signals, mentions: &[Mention]) -> Vec<Cow<'static, str>> {
    let has = |l: &str| s.intents.iter().any(|x| x.label == l);
    let phase = s.journey_phase.as_deref();
    let mut r: Vec<Cow<'static, str>> = Vec::new();
    if has("support_request") || has("complaint") || has("question") {
        r.push("support".into());
    }
    if has("need") {
        r.push("product".into());
    }
    if has("praise")
        || has("recommendation")
        || matches!(phase, Some("awareness" | "consideration"))
    {
        r.push("marketing".into());
    }
    if has("churn_risk")
        || has("switching")
        || (mentions.iter().any(|m| m.competitor)
            && matches!(phase, Some("consideration" | "churn")))
    {
        r.push("strategy".into());
    }
    r
}

#[cfg(test)]
mod tests {
    use crate::analyze::Analyzer;
    use crate::catalog::Catalog;
    use crate::decode::{decode, KindHint};

    fn analyse(text: &str) -> crate::analyze::Analysis {
        let src = "[[brand]]\nid = \"acme\"\nname = \"Acme\"\nquery = 'acme'\n[[brand]]\nid = \"rival\"\nname = \"Rival\"\ncompetitor = true\nquery = 'rival'\n";
        let a = Analyzer::new(Catalog::parse(src).unwrap()).unwrap();
        let json = serde_json::json!({"platform": "x", "id": "1", "author": {"id": "a", "handle": "h"},
            "created_at": "2026-01-01T00:00:00Z", "text": text});
        a.analyze(
            &decode(
                Some(json.to_string().as_bytes()),
                KindHint::Auto,
                Default::default(),
            )
            .unwrap(),
        )
    }

    fn intents(a: &crate::analyze::Analysis) -> Vec<String> {
        a.signals
            .intents
            .iter()
            .map(|s| s.label.to_string())
            .collect()
    }

    #[test]
    fn context_effort_and_priority() {
        let a = analyse(
            "My dad is in hospital and your Acme app logged me out again. Third time I'm calling!",
        );
        let ctx: Vec<_> = a.signals.context.iter().map(|c| c.label.as_ref()).collect();
        assert!(
            ctx.contains(&"family") && ctx.contains(&"health"),
            "{ctx:?}"
        );
        assert!(a.signals.effort.as_ref().unwrap().score <= -4);
        assert!(intents(&a).contains(&"complaint".to_string()));
        assert!(a.signals.priority >= 50, "{}", a.signals.priority);
        assert!(a.signals.routing.iter().any(|r| r == "support"));
        let easy = analyse("Acme sorted it in two minutes, brilliant");
        assert!(easy.signals.effort.as_ref().unwrap().score >= 4);
        assert!(easy.signals.priority <= 30);
    }

    #[test]
    fn sarcasm_is_never_praise() {
        let a = analyse("Great, another Acme update that breaks everything");
        assert!(a.signals.sarcasm.as_ref().unwrap().likely);
        assert!(!intents(&a).contains(&"praise".to_string()));
        assert!(intents(&a).contains(&"complaint".to_string()));
        let plain = analyse("Great update from Acme, love it");
        assert!(plain.signals.sarcasm.is_none());
        assert!(intents(&plain).contains(&"praise".to_string()));
    }

    #[test]
    fn switching_names_the_competitor_and_needs_carry_the_job() {
        let a = analyse("Switching to Rival next month, Acme is too slow");
        let sw = a
            .signals
            .intents
            .iter()
            .find(|s| s.label == "switching")
            .unwrap();
        assert_eq!(sw.competitor.as_deref(), Some("rival"));
        assert!(intents(&a).contains(&"churn_risk".to_string()));
        assert_eq!(a.signals.journey_phase.as_deref(), Some("churn"));
        assert!(a.signals.routing.iter().any(|r| r == "strategy"));
        let n = analyse("I wish the Acme app could schedule wifi off for the kids, please");
        let need = n
            .signals
            .intents
            .iter()
            .find(|s| s.label == "need")
            .unwrap();
        assert_eq!(
            need.job.as_deref(),
            Some("the Acme app could schedule wifi off for the kids")
        );
        assert!(n.signals.routing.iter().any(|r| r == "product"));
    }

    #[test]
    fn switching_direction_decides_churn_or_win() {
        let away = analyse("Bye Acme, hello Rival. At least their router works");
        assert!(intents(&away).contains(&"churn_risk".to_string()));
        assert_eq!(away.signals.journey_phase.as_deref(), Some("churn"));
        let win = analyse("Switched from Rival to Acme last week, zero hassle");
        assert!(intents(&win).contains(&"switching".to_string()));
        assert!(!intents(&win).contains(&"churn_risk".to_string()));
        assert_eq!(win.signals.journey_phase.as_deref(), Some("purchase"));
        // No provider on the other side: not a switch.
        let plan = analyse("Can I move to a cheaper Acme plan without a penalty");
        assert!(!intents(&plan).contains(&"switching".to_string()));
    }

    #[test]
    fn durations_are_effort_and_requests_are_not_questions() {
        let wait = analyse("On hold with Acme for 45 minutes and then the line went dead");
        assert!(wait.signals.effort.as_ref().unwrap().score <= -2);
        let quick = analyse("Acme fixed my billing in under five minutes");
        assert!(quick.signals.effort.as_ref().unwrap().score > 0);
        let request = analyse("Can you check why my Acme speed dropped since the weekend?");
        assert!(!intents(&request).contains(&"question".to_string()));
        let question = analyse("Is Acme down for anyone else right now?");
        assert!(intents(&question).contains(&"question".to_string()));
    }

    #[test]
    fn politeness_and_wishes_are_not_praise() {
        let ask = analyse("Please update the billing address on my Acme account, thanks");
        assert!(!intents(&ask).contains(&"praise".to_string()));
        let wish = analyse("Would be great if Acme could sync shared folders offline");
        assert!(!intents(&wish).contains(&"praise".to_string()));
        assert!(intents(&wish).contains(&"need".to_string()));
        let works = analyse("Had zero problems with Acme since I got it");
        assert!(intents(&works).contains(&"praise".to_string()));
        assert!(!intents(&works).contains(&"complaint".to_string()));
    }

    #[test]
    fn no_panic_on_unicode_around_durations() {
        for t in [
            "İİİ 5 minutes",
            "in ５ minutes ✓",
            "for two hours\u{301} on hold",
            "minutes",
            "in",
        ] {
            let _ = analyse(t);
        }
    }

    #[test]
    fn cues_match_typographic_and_missing_apostrophes() {
        for text in [
            "I can't afford Acme anymore",
            "I can\u{2019}t afford Acme anymore",
            "I cant afford Acme anymore",
        ] {
            let a = analyse(text);
            assert!(
                a.signals.context.iter().any(|c| c.label == "money"),
                "{text}"
            );
        }
        // Dropping the apostrophe must not make another word: "i'll" is not "ill" (health).
        assert!(super::spellings("i'll").iter().all(|s| s != "ill"));
    }

    #[test]
    fn context_cues_match_their_inflections_only() {
        let ctx = |t: &str| -> Vec<String> {
            analyse(t)
                .signals
                .context
                .iter()
                .map(|c| c.label.to_string())
                .collect()
        };
        assert!(ctx("Two deadlines today and Acme is down").contains(&"work".to_string()));
        assert!(ctx("Both flights cancelled, Acme roaming useless").contains(&"travel".to_string()));
        // "fee" must not match "feed"; a cue inside a longer word does not count.
        assert!(!ctx("The Acme news feed is slow").contains(&"money".to_string()));
        assert!(!ctx("Acme is unrentable").contains(&"money".to_string()));
    }
}
