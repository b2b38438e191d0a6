//! The cue lexicon (`data/earshot/cues.tsv`: case-insensitive whole-word phrases) and the one
//! Aho-Corasick pass that finds its cues in a text, with the spellings phones type and the
//! inflections of context words.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::SignalDetector;
use crate::types::Span;

const CUES: &str = include_str!("../../../data/earshot/cues.tsv");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CueKind {
    Context,
    Effort,
    Intent,
    Phase,
    Sarcasm,
}

#[derive(Debug, Clone)]
pub(super) struct Cue {
    pub(super) kind: CueKind,
    pub(super) label: &'static str,
    pub(super) weight: i32,
}

/// A cue found in the text, with the words it covers.
pub(super) struct Hit<'c> {
    pub(super) cue: &'c Cue,
    pub(super) span: Span,
}

/// What the detector's lexicons find in one text: its cues, and the clusters of its words
/// ([`super::clusters`]).
pub(super) struct Hits<'c> {
    cues: Vec<Hit<'c>>,
    clusters: Vec<[u32; 2]>,
}

impl<'c> Hits<'c> {
    /// Every hit, in the order the automaton finds them: by where the matched cue ends.
    pub(super) fn all(&self) -> impl Iterator<Item = &Hit<'c>> + '_ {
        self.cues.iter()
    }

    /// The hits of cues of one kind, in the same order.
    pub(super) fn of(&self, k: CueKind) -> impl Iterator<Item = &Hit<'c>> + '_ {
        self.cues.iter().filter(move |h| h.cue.kind == k)
    }

    /// The model's features of the clusters of the text's words that the table knows (coarse
    /// and fine, [`super::model::cluster_features`]), in order. Empty when only the cues were
    /// asked for ([`SignalDetector::cues`]).
    pub(super) fn clusters(&self) -> &[[u32; 2]] {
        &self.clusters
    }
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

impl SignalDetector {
    /// The cue automaton with untrained models ([`SignalModel::untrained`]): all that training
    /// needs of the detector.
    ///
    /// [`SignalModel::untrained`]: super::model::SignalModel::untrained
    pub fn untrained() -> Result<SignalDetector, super::model::ModelError> {
        let m = super::model::SignalModel::untrained();
        Ok(SignalDetector::with_models(
            m.clone(),
            m,
            super::names::NameModel::bundled()?,
        ))
    }

    /// The cue automaton from the bundled lexicon, with `model` to decide the message's signals
    /// and `aspects` the readings per brand, and `names` to tell a post that names a brand the
    /// catalog does not list.
    pub fn with_models(
        model: super::model::SignalModel,
        aspects: super::model::SignalModel,
        names: super::names::NameModel,
    ) -> SignalDetector {
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
        SignalDetector {
            cues,
            automaton,
            model,
            aspects,
            names,
            clusters: super::clusters::WordClusters::bundled_with(super::model::cluster_features),
        }
    }

    /// Every cue of the text. Overlapping search: "cancel my contract" and "cancel" both count;
    /// spans pick the longest. Context cues also match their inflections ("hospitals", "flights",
    /// "deadlines").
    pub(super) fn hits<'s>(&'s self, text: &str) -> Hits<'s> {
        // "example.com/cancel" is no churn, nor "@cancelbot" ([`crate::analysers::links`]).
        let blanked = crate::analysers::links::blank_handles_too(text);
        let text: &str = &blanked;
        let mut hits = self.cues_of_blanked(text);
        self.clusters.each(text, |c| hits.clusters.push(c));
        hits
    }

    /// [`hits`](Self::hits) without the words' clusters: for a reading that needs only the cues
    /// (the per-mention reading of [`SignalDetector::read_mentions`] called alone).
    pub(super) fn cues<'s>(&'s self, text: &str) -> Hits<'s> {
        self.cues_of_blanked(&crate::analysers::links::blank_handles_too(text))
    }

    /// [`cues`](Self::cues) of a text whose links and handles are already blanked:
    /// [`hits`](Self::hits) blanks once for the cues and the clusters.
    fn cues_of_blanked<'s>(&'s self, text: &str) -> Hits<'s> {
        let cues = self
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
        Hits {
            cues,
            clusters: Vec::new(),
        }
    }
}

/// The spellings a cue is matched in: as written, with a typographic apostrophe ("can’t", as
/// phones type it: the daemon's texts have it plain already ([`crate::normalize`]), an
/// `Interaction` built by hand may not), and without the apostrophe ("cant", "im leaving") unless that makes another
/// word ("we'll" is not "well", "i'll" is not "ill").
pub(super) fn spellings(phrase: &str) -> Vec<String> {
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
