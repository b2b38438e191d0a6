//! The learned signal model: one-vs-rest logistic regression for every label of context, effort,
//! intents, journey phase and sarcasm, and a linear regression for the effort scale, over the
//! features the daemon already computes for a message:
//!
//! * the emotion model's hashed features of the text ([`crate::emotion::features`]: words, word
//!   pairs, character 4-grams, emoji, shape, the lexicon's sentiment), folded into
//!   [`BUCKETS`], with each brand mention read as its role, `<own>` or `<rival>`, not its name
//!   ([`super::roles`]);
//! * the cue lexicon's hits (`cue:intent:churn_risk`, ...), the durations the customer reports;
//! * the clusters of the text's words ([`super::clusters`]), which words of like meaning share;
//! * the emotion model's reading (its labels, dominant emotion and Ekman group, intensity);
//! * the sentiment label, the message's kind, and what it is about: a brand mention, a
//!   competitor's, several brands, a product, an account the post tags.
//!
//! [`features`] is the one feature function: training (`earshot train-signals`,
//! [`super::train`]) and the analyser call it on the same values, so there is no train/serve
//! skew. Weights ship quantised to i8, one scale per output, in `data/earshot/signals.model`;
//! thresholds are tuned against quantised weights on predictions made across the corpus's batches
//! (see [`super::train::train_across`]).

use crate::emotion::{hash_parts, Emotions};
use crate::interaction::{Interaction, Kind};
use crate::sentiment::Scores;
use crate::types::Mention;

use super::cues::Hits;
use super::stack::{Stack, INPUTS as STACK_INPUTS, STACKED};
use crate::types::Span;

/// Hashed feature buckets of the signal model.
pub const BUCKETS: usize = 1 << 18;

/// The model's outputs, in the families of the evaluation's labels.
pub const LABELS: [&str; 29] = [
    "context:work",
    "context:family",
    "context:health",
    "context:money",
    "context:time_pressure",
    "context:travel",
    "context:life_event",
    "effort:hard",
    "effort:easy",
    "intent:complaint",
    "intent:praise",
    "intent:question",
    "intent:support_request",
    "intent:purchase_intent",
    "intent:churn_risk",
    "intent:switching",
    "intent:prospect",
    "intent:recommendation",
    "intent:need",
    "phase:awareness",
    "phase:consideration",
    "phase:purchase",
    "phase:onboarding",
    "phase:usage",
    "phase:support",
    "phase:loyalty",
    "phase:churn",
    "sarcasm",
    "moment:hard",
];

/// Number of outputs.
pub const OUTPUTS: usize = LABELS.len();

/// The families of [`LABELS`], in their order. `moment` reads a life event as a hard moment
/// (`moment:hard`) or a happy one: it qualifies `context:life_event`, and the evaluations score it
/// on the sets that label it (the corpus's training batches), hard and happy alike.
pub const FAMILIES: [&str; 6] = ["context", "effort", "intent", "phase", "sarcasm", "moment"];

/// The output of `context:life_event`.
pub const LIFE_EVENT: usize = 6;
/// The output of `moment:hard`: whether a life event is a hard moment, learnt from life events.
pub const MOMENT: usize = 28;

/// The outputs of one family, as a range of [`LABELS`] (constant: the decisions ask for them at
/// every message; a test checks them against the labels).
pub fn family(name: &str) -> std::ops::Range<usize> {
    match name {
        "context" => 0..7,
        "effort" => 7..9,
        "intent" => 9..19,
        "phase" => 19..27,
        "sarcasm" => 27..28,
        "moment" => 28..29,
        _ => 0..0,
    }
}

/// A feature of the analysis (not of the text's words), in its own corner of the hash space.
fn tag(parts: &[&[u8]]) -> u32 {
    hash_parts(parts, 16) & (BUCKETS as u32 - 1)
}

/// The model's two features of a word's clusters (coarse, fine): hashed once per word of the
/// table when the detector is built, not at every word read.
pub(super) fn cluster_features(c: [u16; 2]) -> [u32; 2] {
    [
        tag(&[b"wc:", &c[0].to_le_bytes()]),
        tag(&[b"wcf:", &c[1].to_le_bytes()]),
    ]
}

/// The flags of what a message targets, as the model reads them (`t:` features).
const TARGET_FLAGS: [&[u8]; 7] = [
    b"t:mention",
    b"t:addressed",
    b"t:any",
    b"t:competitor",
    b"t:own",
    b"t:product",
    b"t:brands",
];

/// The features that say what a message targets, not what it says: the [`TARGET_FLAGS`] and the
/// roles a mention is read as (`<own>`, `<rival>`; the bigrams a role makes with its neighbours
/// are what is said of it, and stay). The sarcasm output never learns from them (nor from
/// whatever shares their buckets: "ense" shares `t:mention`'s in the corpus's vocabulary):
/// irony is a way of speaking, not a fact about the brand, and the brandless irony batches it
/// learns from (nearly half ironic, against a tenth of the corpus) taught it that a mention means
/// "sincere" (docs/analysis.md, "Irony at brands").
pub(super) fn target_features() -> [u32; 9] {
    let mask = BUCKETS as u32 - 1;
    let mut out = [0u32; 9];
    for (o, flag) in out.iter_mut().zip(TARGET_FLAGS) {
        *o = tag(&[flag]);
    }
    out[7] = super::roles::role_feature(false, mask);
    out[8] = super::roles::role_feature(true, mask);
    out
}

/// What the message is about, as far as the analysis tells: the target a brand-directed reading
/// needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Target {
    /// A catalog brand or product is mentioned.
    pub mention: bool,
    /// A support ticket: sent to the company that runs earshot.
    pub ticket: bool,
    /// The post addresses or tags an account: it tags one, `@handle` anywhere but a retweet's
    /// or a share's credit (`RT @handle:`, `via @handle`), or replies to the account of a brand
    /// the catalog lists (its recipient, [`crate::mentions::Matcher::add_recipient`]: platforms
    /// give the account replied to beside the text, where a reply's text once began with its
    /// `@handle`). On Twitter a tag notifies the account, and tweets to a company tag it
    /// anywhere ("so @BrightwellRail cancelled my 8:15 again"). A reply to a person's post
    /// addresses no brand.
    pub addressed: bool,
    /// The post names a company or a product the catalog does not list ([`super::names`]); read
    /// only where nothing else is targeted.
    pub unlisted: bool,
}

impl Target {
    /// What `i` targets, given its mentions: those its words name, and the recipient
    /// [`crate::mentions::Matcher::add_recipient`] appends when they do not name it.
    pub fn of(i: &Interaction, mentions: &[Mention]) -> Target {
        let post = i.kind == Kind::SocialPost;
        Target {
            mention: mentions.iter().any(|m| !m.spanless()),
            ticket: !post,
            addressed: (post && mentions.iter().any(|m| m.recipient))
                || addresses_an_account(&i.text),
            unlisted: false,
        }
    }

    /// Whether anything is targeted at all.
    pub fn any(self) -> bool {
        self.mention || self.ticket || self.addressed || self.unlisted
    }

    /// Whether a brand or a product is named: one the catalog lists, or one it does not.
    pub fn named(self) -> bool {
        self.mention || self.unlisted
    }
}

/// Whether `text` addresses or tags an account ([`first_tag`]).
pub fn addresses_an_account(text: &str) -> bool {
    first_tag(text).is_some()
}

/// The words before a handle that credit an account rather than address it: a retweet (`RT
/// @x:`), a modified one (`MT`), a share (`via @x`), a hat tip (`h/t`, `ht`).
const CREDITS: [&str; 5] = ["rt", "mt", "via", "h/t", "ht"];

/// The byte offset of the first account `text` tags: a handle as the features blank it
/// ([`crate::analysers::links::handle_end`]: ".@airline", Twitter's public reply, is one;
/// "jo@example.com" and "youtube.com/@channel" hold none) that is not itself a link's path
/// ("@channel/videos") and is not a credit ([`CREDITS`], the word before it stripped of
/// punctuation: "(via @paper)"). An informal "@" ("working @home") can't be told from a tag.
pub fn first_tag(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    memchr::memchr_iter(b'@', b).find(|&at| {
        let Some(end) = crate::analysers::links::handle_end(b, at) else {
            return false;
        };
        if b.get(end) == Some(&b'/') {
            return false;
        }
        // `at` is the index of an ASCII byte, so a char boundary.
        let word = text[..at].split_whitespace().next_back().unwrap_or("");
        let word = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '/');
        !CREDITS.iter().any(|c| word.eq_ignore_ascii_case(c))
    })
}

/// The features of one analysed message: bucket ids, each feature the message has once, in the
/// order of their first occurrence. `text` is its text's hashed features ([`TextInput`]);
/// `target` is the message's [`Target::of`] (the caller decides with it too, so it is found
/// once); `durations` are the text's reported durations ([`super::effort::durations`]).
///
/// The model reads whether a feature is there, not how often: a word a long ticket says five
/// times weighs as much as in a tweet that says it once. Measured leave-one-batch-out over the
/// corpus's 45 training batches (`earshot train-signals --cross-batches --across 0`), counts
/// against presence, micro-F1 context / effort / intents / phase / sarcasm: 0.672 / 0.684 /
/// 0.792 / 0.697 / 0.725 and 0.682 / 0.695 / 0.793 / 0.699 / 0.737 (docs/analysis.md).
// Every input is one the runtime already holds; a struct to bundle them would be built per
// message only to be taken apart here.
#[allow(clippy::too_many_arguments)]
pub(super) fn features(
    i: &Interaction,
    text: TextInput,
    sentiment: &Scores,
    emotions: &Emotions,
    mentions: &[Mention],
    target: Target,
    hits: &Hits,
    durations: &[(i32, Span)],
) -> Vec<u32> {
    let (all, taken) = features_but_taken(
        i, text, sentiment, emotions, mentions, target, hits, durations,
    );
    present(&all, &taken)
}

/// Each feature of `all` that is still there once one occurrence of each of `taken` is taken out
/// (the mentions' names, which the roles replace; `all` holds each of them), once, in the order
/// of its first occurrence in `all` (of a taken feature, its first past the ones taken out). The
/// taken features start below zero in a small open-addressed table of counts, and one pass over
/// `all` counts up and lists each feature as its count reaches one: no sort, and no search of
/// `all` for each taken feature.
pub(super) fn present(all: &[u32], taken: &[u32]) -> Vec<u32> {
    // Buckets are below 2^18, so no feature is this key.
    const EMPTY: u32 = u32::MAX;
    // At most half full: probes stay short.
    let bits = (2 * (all.len() + taken.len()))
        .max(16)
        .next_power_of_two()
        .trailing_zeros();
    let mut table = vec![(EMPTY, 0i32); 1 << bits];
    let wrap = table.len() - 1;
    let slot = |table: &[(u32, i32)], f: u32| -> usize {
        // Fibonacci hashing: the product's top bits.
        let mut s = (f.wrapping_mul(0x9E37_79B9) >> (32 - bits)) as usize;
        while table[s].0 != f && table[s].0 != EMPTY {
            s = (s + 1) & wrap;
        }
        s
    };
    for &f in taken {
        let s = slot(&table, f);
        table[s] = (f, table[s].1 - 1);
    }
    let mut out = Vec::with_capacity(all.len());
    for &f in all {
        let s = slot(&table, f);
        let n = table[s].1 + 1;
        table[s] = (f, n);
        if n == 1 {
            out.push(f);
        }
    }
    out
}

/// The text's hashed features ([`crate::emotion::features`]) as the signal model receives them:
/// those of the text as the analyser reads it, with its catalog's names masked
/// ([`crate::polarity::Masked`]), and the roles' [`Patch`](super::roles::Patch) of that text
/// (computed from the message and its mentions when `None`, for a text nothing was masked in).
#[derive(Debug, Clone, Copy)]
pub struct TextInput<'a> {
    pub features: &'a [u32],
    pub roles: Option<&'a super::roles::Patch>,
}

impl<'a> TextInput<'a> {
    /// The features of the message's text as written.
    pub fn of(features: &'a [u32]) -> TextInput<'a> {
        TextInput {
            features,
            roles: None,
        }
    }
}

/// The features of one message before [`present`]: every occurrence, the roles' added features
/// included, and beside them the features of the mentions' names that the roles take out.
#[allow(clippy::too_many_arguments)]
pub(super) fn features_but_taken(
    i: &Interaction,
    text: TextInput,
    sentiment: &Scores,
    emotions: &Emotions,
    mentions: &[Mention],
    target: Target,
    hits: &Hits,
    durations: &[(i32, Span)],
) -> (Vec<u32>, smallvec::SmallVec<[u32; 32]>) {
    let mask = BUCKETS as u32 - 1;
    let own;
    let roles = match text.roles {
        Some(p) => p,
        None => {
            own = super::roles::patch(&i.text, mentions, mask);
            &own
        }
    };
    // The text's features and the roles', then at most 7 flags, 2 per cue, 1 per duration and
    // emotion label, and 6 more: sized once, so the text's features are never copied to a bigger
    // buffer.
    let extra = 13
        + 2 * hits.all().count()
        + 2 * hits.clusters().len()
        + durations.len()
        + emotions.labels.len();
    let mut out: Vec<u32> = Vec::with_capacity(text.features.len() + roles.add.len() + extra);
    out.extend(text.features.iter().map(|f| f & mask));
    out.extend(roles.add.iter().map(|f| f & mask));
    out.push(tag(&[b"kind:", i.kind.as_str().as_bytes()]));
    out.push(tag(&[b"sent:", sentiment.label.as_str().as_bytes()]));
    // In the order of TARGET_FLAGS, which names them.
    let flags = [
        target.named(),
        target.addressed,
        target.any(),
        mentions.iter().any(|m| m.competitor),
        mentions.iter().any(|m| !m.competitor),
        mentions.iter().any(|m| m.product.is_some()),
        super::aspect::several_brands(mentions),
    ];
    out.extend(
        flags
            .iter()
            .zip(TARGET_FLAGS)
            .filter(|f| *f.0)
            .map(|f| tag(&[f.1])),
    );
    for h in hits.all() {
        out.push(tag(&[b"cue:", h.cue.label.as_bytes()]));
        out.push(tag(&[
            b"cue:",
            h.cue.label.as_bytes(),
            b":",
            &h.cue.weight.to_le_bytes(),
        ]));
    }
    for (w, _) in durations {
        out.push(tag(&[b"dur:", &w.to_le_bytes()]));
    }
    for l in &emotions.labels {
        out.push(tag(&[b"emo:", l.as_bytes()]));
    }
    out.push(tag(&[b"dom:", emotions.dominant.as_bytes()]));
    out.push(tag(&[b"ekman:", emotions.dominant_ekman.as_bytes()]));
    out.push(tag(&[b"intensity:", &[emotions.intensity]]));
    // A link is no word of the message ([`crate::analysers::links`]).
    let words = crate::analysers::links::blank(&i.text)
        .split_whitespace()
        .count();
    let length: &[u8] = match words {
        0..=12 => b"len:short",
        13..=40 => b"len:medium",
        _ => b"len:long",
    };
    out.push(tag(&[length]));
    out.extend(hits.clusters().iter().flatten());
    (out, roles.take.iter().map(|f| f & mask).collect())
}

/// The intents that are about a brand: they need a target ([`Target::any`]).
pub const BRAND_DIRECTED: [&str; 7] = [
    "intent:complaint",
    "intent:praise",
    "intent:purchase_intent",
    "intent:churn_risk",
    "intent:switching",
    "intent:prospect",
    "intent:recommendation",
];

/// [`SignalModel::decide`] with the thresholds given.
pub fn decide_with(p: &[f32; OUTPUTS], t: &[f32; OUTPUTS], target: Target) -> [bool; OUTPUTS] {
    let mut on = [false; OUTPUTS];
    for o in 0..OUTPUTS {
        on[o] = p[o] >= t[o];
    }
    let effort = family("effort");
    let (hard, easy) = (effort.start, effort.start + 1);
    if on[hard] && on[easy] {
        on[if p[hard] >= p[easy] { easy } else { hard }] = false;
    }
    // The phase whose probability stands furthest above its own threshold: a rare phase's
    // threshold is lower than the common one's, and the plain likeliest would nearly always be
    // the common one ("usage").
    let phase = family("phase");
    let best = phase
        .clone()
        .max_by(|a, b| (p[*a] - t[*a]).total_cmp(&(p[*b] - t[*b])))
        .unwrap_or(phase.start);
    for o in phase {
        on[o] = o == best && p[o] >= t[o] && target.any();
    }
    if !target.any() {
        for (o, l) in LABELS.iter().enumerate() {
            if BRAND_DIRECTED.contains(l) {
                on[o] = false;
            }
        }
    }
    on
}

/// A model file that can't be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("signal model: {0}")]
pub struct ModelError(String);

impl ModelError {
    pub(crate) fn new(message: String) -> ModelError {
        ModelError(message)
    }
}

const MAGIC: &[u8; 8] = b"ESSIG1\0\0";

/// The signal model as shipped: i8 weights, feature-major (`weights[feature * OUTPUTS + output]`),
/// one scale per output, one threshold per output (and sarcasm's for a message with no target);
/// the effort scale's regression weights; and, in a model trained with `--hidden`, a hidden layer
/// beside the linear first reading (the shipped models have none: [`super::hidden`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SignalModel {
    pub(super) weights: Vec<i8>,
    pub(super) scales: [f32; OUTPUTS],
    pub(super) thresholds: [f32; OUTPUTS],
    pub(super) effort: Vec<i8>,
    pub(super) effort_scale: f32,
    /// The second reading ([`super::stack`]), when the model has one: the per-brand model and a
    /// model tuned on the dev split have none.
    pub(super) stack: Option<Stack>,
    /// Sarcasm's threshold for a message with no target, when the model has one of its own (else
    /// the threshold of every message, `thresholds[SARCASM]`). A false flag on a message aimed at a
    /// brand turns its praise into a complaint, so that threshold is tuned for a high precision
    /// ([`super::train::SARCASM_PRECISION`]); a message with no target has no brand-directed
    /// intent for a flag to turn, and its threshold is tuned for a lower one
    /// ([`super::train::UNTARGETED_SARCASM_PRECISION`]) on the timeline posts irony is learnt
    /// from.
    pub(super) untargeted_sarcasm: Option<f32>,
    /// A hidden layer whose share adds to the first reading's log-odds ([`super::hidden`]), when
    /// the model has one.
    pub(super) hidden: Option<super::hidden::Hidden>,
}

/// The sarcasm output.
pub const SARCASM: usize = 27;

/// The logistic function: a log-odds as a probability (the first reading's, the second's, and
/// training's).
pub(super) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The little-endian `u32` at byte `k` of `b`, if `b` holds it.
pub(super) fn u32_at(b: &[u8], k: usize) -> Option<u32> {
    let s = b.get(k..k + 4)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// The scale that maps the largest weight's magnitude to 127.
pub(super) fn scale_of<'a>(w: impl Iterator<Item = &'a f32>) -> f32 {
    w.fold(0.0f32, |m, x| m.max(x.abs())).max(1e-9) / 127.0
}

pub(super) fn quantise(x: f32, scale: f32) -> i8 {
    (x / scale).round().clamp(-127.0, 127.0) as i8
}

/// Quantises a row-major table of `width` columns with one scale per column ([`scale_of`]): the
/// i8 table and the scales.
pub(super) fn quantise_columns(table: &[f32], width: usize) -> (Vec<i8>, Vec<f32>) {
    let scales: Vec<f32> = (0..width)
        .map(|c| scale_of(table.iter().skip(c).step_by(width)))
        .collect();
    let q = table
        .iter()
        .enumerate()
        .map(|(k, w)| quantise(*w, scales[k % width]))
        .collect();
    (q, scales)
}

impl SignalModel {
    /// The model compiled into the binary (`data/earshot/signals.model`).
    pub fn bundled() -> Result<SignalModel, ModelError> {
        Self::from_bytes(include_bytes!("../../../data/earshot/signals.model"))
    }

    /// The per-brand model compiled into the binary (`data/earshot/aspects.model`; see
    /// [`super::aspect`]).
    pub fn bundled_aspects() -> Result<SignalModel, ModelError> {
        Self::from_bytes(include_bytes!("../../../data/earshot/aspects.model"))
    }

    /// A model with every weight zero: what training featurises with (the cue automaton is the
    /// detector's part it reads), so a build whose model shape changed trains its first model
    /// without the bundled one.
    pub fn untrained() -> SignalModel {
        Self::quantised(&vec![0.0; BUCKETS * OUTPUTS], &vec![0.0; BUCKETS])
    }

    /// Quantises trained f32 weights (feature-major, [`OUTPUTS`] per feature) and the effort
    /// regression's, every threshold at 0.5.
    pub fn quantised(weights: &[f32], effort: &[f32]) -> SignalModel {
        let (q, column_scales) = quantise_columns(weights, OUTPUTS);
        let mut scales = [0.0f32; OUTPUTS];
        scales.copy_from_slice(&column_scales);
        let effort_scale = scale_of(effort.iter());
        SignalModel {
            weights: q,
            scales,
            thresholds: [0.5; OUTPUTS],
            effort: effort.iter().map(|w| quantise(*w, effort_scale)).collect(),
            effort_scale,
            stack: None,
            untargeted_sarcasm: None,
            hidden: None,
        }
    }

    /// The first reading's log-odds of every output of a message's [`features`].
    pub fn logits(&self, feats: &[u32]) -> [f32; OUTPUTS] {
        let acc = self.sums(feats);
        let mut z = [0.0f32; OUTPUTS];
        for o in 0..OUTPUTS {
            z[o] = acc[o] as f32 * self.scales[o];
        }
        if let Some(h) = &self.hidden {
            h.add_logits(feats, &mut z);
        }
        z
    }

    /// The first reading's probability of every output of a message's [`features`]: each label
    /// on its own words, before the second reading.
    pub fn predict(&self, feats: &[u32]) -> [f32; OUTPUTS] {
        self.logits(feats).map(sigmoid)
    }

    /// The probability of every output of a message's [`features`], as the model decides on it:
    /// the second reading's ([`super::stack`]) where the model has one, else the first.
    pub fn probabilities(&self, feats: &[u32], target: Target) -> [f32; OUTPUTS] {
        self.probabilities_of(&self.logits(feats), target)
    }

    /// [`Self::probabilities`] from the first reading's log-odds `z` ([`Self::logits`]).
    fn probabilities_of(&self, z: &[f32; OUTPUTS], target: Target) -> [f32; OUTPUTS] {
        match &self.stack {
            Some(s) => s.probabilities(z, target),
            None => z.map(sigmoid),
        }
    }

    /// Which outputs are on for a message's [`features`]: [`Self::decide`] on
    /// [`Self::probabilities`].
    pub fn read(&self, feats: &[u32], target: Target) -> [bool; OUTPUTS] {
        self.read_logits(&self.logits(feats), target)
    }

    /// [`Self::read`] from the first reading's log-odds `z` ([`Self::logits`]), for a caller that
    /// keeps them to explain the decision ([`Self::weight_for`]).
    pub fn read_logits(&self, z: &[f32; OUTPUTS], target: Target) -> [bool; OUTPUTS] {
        self.decide(&self.probabilities_of(z, target), target)
    }

    /// Whether the model reads its outputs a second time ([`super::stack`]).
    pub fn stacked(&self) -> bool {
        self.stack.is_some()
    }

    /// Each output's sum of the quantised weights of `feats`.
    // Not inlined: inlined into `predict` it came out scalar, 3.8M instructions against 1.3M
    // for `examples/profile analyse 2` (callgrind).
    #[inline(never)]
    fn sums(&self, feats: &[u32]) -> [i32; OUTPUTS] {
        // Sums of up to 256 weights of at most 127 fit an i16, whose lanes are twice as many per
        // vector instruction as i32's: accumulate in i16 per chunk, then widen (as the emotion
        // model does). Written out for this model's outputs: one generic function for both
        // models cost 7.6k more instructions a message (callgrind, examples/profile pipeline).
        let mut acc = [0i32; OUTPUTS];
        for chunk in feats.chunks(256) {
            let mut part = [0i16; OUTPUTS];
            for &f in chunk {
                let base = f as usize * OUTPUTS;
                if let Some(row) = self.weights.get(base..base + OUTPUTS) {
                    for (a, w) in part.iter_mut().zip(row) {
                        *a += i16::from(*w);
                    }
                }
            }
            for (a, p) in acc.iter_mut().zip(part) {
                *a += i32::from(p);
            }
        }
        acc
    }

    /// The effort scale the regression reads, −5..5 before rounding.
    pub fn effort_value(&self, feats: &[u32]) -> f32 {
        let sum: i32 = feats
            .iter()
            .filter_map(|&f| self.effort.get(f as usize))
            .map(|w| i32::from(*w))
            .sum();
        sum as f32 * self.effort_scale
    }

    /// Which outputs are on, given their probabilities and what the message targets: every label
    /// at or above its threshold; of effort, the likelier of hard and easy; of the phase, the
    /// likeliest, if at or above its threshold; and no brand-directed intent and no phase without
    /// a target; sarcasm, for a message with no target, at its own threshold where the model has
    /// one. Training tunes the thresholds through [`decide_with`], which this calls: the
    /// untargeted sarcasm threshold on rows with no target; the others, sarcasm's own included,
    /// on every row of the batches (the few with no target among them too, which in the daemon
    /// read sarcasm at the untargeted threshold).
    pub fn decide(&self, p: &[f32; OUTPUTS], target: Target) -> [bool; OUTPUTS] {
        match self.untargeted_sarcasm {
            Some(u) if !target.any() => {
                let mut t = self.thresholds;
                t[SARCASM] = u;
                decide_with(p, &t, target)
            }
            _ => decide_with(p, &self.thresholds, target),
        }
    }

    pub fn threshold(&self, output: usize) -> f32 {
        self.thresholds[output]
    }

    /// Sarcasm's threshold for a message with no target, when it has one of its own.
    pub fn untargeted_sarcasm(&self) -> Option<f32> {
        self.untargeted_sarcasm
    }

    /// The weight of bucket `feature` for `output`, dequantised: how much a word weighs for a label
    /// in the first reading. The evidence reads [`Self::weight_for`]; the tests compare it with this.
    #[cfg(test)]
    pub(crate) fn weight(&self, feature: u32, output: usize) -> f32 {
        self.weights
            .get(feature as usize * OUTPUTS + output)
            .map_or(0.0, |w| f32::from(*w) * self.scales[output])
    }

    /// How much a bucket weighs for `output` as the model decides it, in a message (its
    /// features `feats`) whose first reading's log-odds are `z`: its first-reading weight, or,
    /// where a second reading reads the output again, its weights for every output carried
    /// through the second reading ([`Stack::through`]). A support request the second reading
    /// turns on from a ticket's complaint is explained by the words that carried the complaint.
    /// Where the model has a hidden layer, a bucket also weighs what it adds through the units
    /// the message turns on ([`super::hidden::Hidden::through`]). The coefficients are worked
    /// out once for the label; each word then costs a dot product with its rows of weights.
    pub fn weight_for(
        &self,
        output: usize,
        z: &[f32; OUTPUTS],
        feats: &[u32],
    ) -> impl Fn(u32) -> f32 + '_ {
        let mut c = match &self.stack {
            Some(s) => s.through(output, z),
            None => {
                let mut c = [0.0f32; OUTPUTS];
                c[output] = 1.0;
                c
            }
        };
        let units = self.hidden.as_ref().map(|h| (h, h.through(&c, feats)));
        for (ck, scale) in c.iter_mut().zip(&self.scales) {
            *ck *= scale;
        }
        move |feature| {
            let base = feature as usize * OUTPUTS;
            let linear = self.weights.get(base..base + OUTPUTS).map_or(0.0, |row| {
                row.iter().zip(&c).map(|(w, ck)| f32::from(*w) * ck).sum()
            });
            linear + units.as_ref().map_or(0.0, |(h, u)| h.weigh(u, feature))
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(MAGIC.len() + 8 + self.weights.len() + BUCKETS + 1024);
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&(OUTPUTS as u32).to_le_bytes());
        b.extend_from_slice(&(BUCKETS as u32).to_le_bytes());
        for x in self.scales.iter().chain(&self.thresholds) {
            b.extend_from_slice(&x.to_le_bytes());
        }
        b.extend_from_slice(&self.effort_scale.to_le_bytes());
        b.extend(self.weights.iter().map(|w| *w as u8));
        b.extend(self.effort.iter().map(|w| *w as u8));
        if let Some(s) = &self.stack {
            b.extend_from_slice(STACK_MAGIC);
            b.extend_from_slice(&(STACKED as u32).to_le_bytes());
            b.extend_from_slice(&(STACK_INPUTS as u32).to_le_bytes());
            for w in &s.weights {
                b.extend_from_slice(&w.to_le_bytes());
            }
        }
        if let Some(h) = &self.hidden {
            h.write(&mut b);
        }
        if let Some(u) = self.untargeted_sarcasm {
            b.extend_from_slice(UNTARGETED_MAGIC);
            b.extend_from_slice(&u.to_le_bytes());
        }
        b
    }

    pub fn from_bytes(b: &[u8]) -> Result<SignalModel, ModelError> {
        let bad = |m: &str| ModelError(m.to_string());
        let rest = b
            .strip_prefix(MAGIC)
            .ok_or_else(|| bad("not a signal model file"))?;
        let u32_at = |k: usize| u32_at(rest, k).ok_or_else(|| bad("truncated header"));
        if u32_at(0)? as usize != OUTPUTS || u32_at(4)? as usize != BUCKETS {
            return Err(bad("made for other outputs or buckets than this build"));
        }
        let floats = 2 * OUTPUTS + 1;
        let mut f = Vec::with_capacity(floats);
        for k in 0..floats {
            f.push(f32::from_bits(u32_at(8 + 4 * k)?));
        }
        let body = rest
            .get(8 + 4 * floats..)
            .ok_or_else(|| bad("truncated header"))?;
        let size = BUCKETS * OUTPUTS + BUCKETS;
        if body.len() < size {
            return Err(bad("weights of the wrong size"));
        }
        let (body, mut after) = body.split_at(size);
        // The sections after the weights, each optional, in the order written.
        let stack = if after.starts_with(STACK_MAGIC) {
            let (stack, rest) = stack_from_bytes(after)?;
            after = rest;
            Some(stack)
        } else {
            None
        };
        let hidden = if after.starts_with(super::hidden::MAGIC) {
            let (hidden, rest) = super::hidden::Hidden::from_bytes(after)?;
            after = rest;
            Some(hidden)
        } else {
            None
        };
        let untargeted_sarcasm = if after.is_empty() {
            None
        } else {
            let t = after
                .strip_prefix(UNTARGETED_MAGIC)
                .and_then(|t| <[u8; 4]>::try_from(t).ok())
                .map(f32::from_le_bytes)
                .ok_or_else(|| bad("an unknown section after the weights"))?;
            if !t.is_finite() {
                return Err(bad("an untargeted sarcasm threshold that is not a number"));
            }
            Some(t)
        };
        let mut scales = [0.0; OUTPUTS];
        let mut thresholds = [0.0; OUTPUTS];
        scales.copy_from_slice(&f[..OUTPUTS]);
        thresholds.copy_from_slice(&f[OUTPUTS..2 * OUTPUTS]);
        let (w, e) = body.split_at(BUCKETS * OUTPUTS);
        Ok(SignalModel {
            weights: w.iter().map(|x| *x as i8).collect(),
            scales,
            thresholds,
            effort: e.iter().map(|x| *x as i8).collect(),
            effort_scale: f[2 * OUTPUTS],
            stack,
            untargeted_sarcasm,
            hidden,
        })
    }
}

/// The second reading's section of a model file: after the weights, this tag, the outputs read
/// again and their inputs (`u32` each), and the weights (`f32`, output-major). A build before the
/// second reading rejects a file with this section.
const STACK_MAGIC: &[u8; 4] = b"STK1";

/// The section of sarcasm's threshold for messages with no target, last in the file: this tag and
/// the threshold (`f32`). A build before it rejects a file with this section.
const UNTARGETED_MAGIC: &[u8; 4] = b"SRU1";

/// The second reading's section at the start of `b`, and what follows it.
fn stack_from_bytes(b: &[u8]) -> Result<(Stack, &[u8]), ModelError> {
    let bad = |m: &str| ModelError(m.to_string());
    let rest = b
        .strip_prefix(STACK_MAGIC)
        .ok_or_else(|| bad("weights of the wrong size"))?;
    let u32_at = |k: usize| u32_at(rest, k).ok_or_else(|| bad("truncated second reading"));
    if u32_at(0)? as usize != STACKED || u32_at(4)? as usize != STACK_INPUTS {
        return Err(bad("second reading made for other outputs than this build"));
    }
    let (w, after) = rest
        .get(8..)
        .filter(|w| w.len() >= 4 * STACKED * STACK_INPUTS)
        .ok_or_else(|| bad("second reading of the wrong size"))?
        .split_at(4 * STACKED * STACK_INPUTS);
    let weights = w
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect::<Vec<f32>>();
    if weights.iter().any(|w| !w.is_finite()) {
        return Err(bad("second reading with a weight that is not a number"));
    }
    Ok((Stack { weights }, after))
}

#[cfg(test)]
mod tests {
    use super::super::stack::at;
    use super::*;

    #[test]
    fn present_keeps_each_feature_left_once() {
        let read = |all: &[u32], taken: &[u32]| {
            let mut v = present(all, taken);
            v.sort_unstable();
            v
        };
        assert_eq!(read(&[], &[]), Vec::<u32>::new());
        assert_eq!(read(&[7, 3, 7, 9, 3, 3], &[]), vec![3, 7, 9]);
        // One of two occurrences taken out leaves it; the only one taken out removes it.
        assert_eq!(read(&[7, 3, 7, 9], &[7, 9]), vec![3, 7]);
        assert_eq!(read(&[5, 5, 5], &[5, 5, 5]), Vec::<u32>::new());
        // A taken feature the text lacks changes nothing.
        assert_eq!(read(&[1, 2], &[4]), vec![1, 2]);
        // Zero and the largest bucket are features like any other.
        let top = BUCKETS as u32 - 1;
        assert_eq!(read(&[top, 0, top, 0], &[0]), vec![0, top]);
        // Many features, many of them colliding in the table (multiples of its size), against
        // a plain count.
        let all: Vec<u32> = (0..5000u32)
            .map(|k| (k * 7919 % 1500) * 64 % (BUCKETS as u32))
            .collect();
        let taken: Vec<u32> = all.iter().step_by(3).copied().collect();
        let mut left = all.clone();
        for t in &taken {
            let k = left.iter().position(|x| x == t).unwrap();
            left.remove(k);
        }
        left.sort_unstable();
        left.dedup();
        assert!(left.len() > 100 && left.len() < 1500, "{}", left.len());
        assert_eq!(read(&all, &taken), left);
    }

    #[test]
    fn families_cover_every_output_once() {
        for name in FAMILIES {
            for (o, l) in LABELS.iter().enumerate() {
                let of = l.split(':').next() == Some(name);
                assert_eq!(family(name).contains(&o), of, "{name}: {l}");
            }
        }
        let total: usize = FAMILIES.iter().map(|f| family(f).len()).sum();
        assert_eq!(total, OUTPUTS);
        assert_eq!(LABELS[family("phase").start], "phase:awareness");
        assert_eq!(LABELS[family("sarcasm").start], "sarcasm");
        assert_eq!(family("moment"), OUTPUTS - 1..OUTPUTS);
        assert_eq!(LABELS[LIFE_EVENT], "context:life_event");
        assert_eq!(LABELS[MOMENT], "moment:hard");
        assert_eq!(LABELS[SARCASM], "sarcasm");
    }

    #[test]
    fn a_post_addresses_the_accounts_it_tags_but_not_the_ones_it_credits() {
        for text in [
            "@PomeloCares no signal since 9am",
            "  @a hi",
            "so @BrightwellRail cancelled my 8:15 again",
            "never again @HomelyHotels",
            ".@SkyvaneAir lost my bag",
            "(cc @fern_help) still waiting",
            "RT @news: storm warning. @CityBuses are you running?",
            "my flight was cancelled by @SkyvaneAir",
            "état du réseau? @PomeloCares",
        ] {
            assert!(addresses_an_account(text), "{text}");
        }
        for text in [
            "Italy has not voted on leaving the EU",
            "mail me at jo@example.com",
            "RT @NimbusStream: new season out friday",
            "great read via @dailypaper",
            "rt @x: hello",
            "@ the station",
            "meet @ 5",
            "",
            "@@",
            "josé@example.com wrote to me",
            "https://www.youtube.com/@techlinus/videos",
            "watch @techlinus/videos",
            "tiktok.com/@shop/video/1",
            "great thread (via @paper)",
            "h/t @paper for the link",
            "HT: @paper",
            "MT @paper: rates rise",
        ] {
            assert!(!addresses_an_account(text), "{text}");
        }
        assert_eq!(first_tag("  @a hi"), Some(2));
        assert_eq!(first_tag("RT @b: x @c"), Some(9));
        assert_eq!(first_tag("no tag"), None);
    }

    #[test]
    fn the_phase_is_the_one_furthest_above_its_threshold_and_needs_a_target() {
        let at = |name: &str| LABELS.iter().position(|l| *l == name).expect("a label");
        let (usage, churn) = (at("phase:usage"), at("phase:churn"));
        let mut t = [0.5f32; OUTPUTS];
        t[usage] = 0.6;
        t[churn] = 0.2;
        let mut p = [0.0f32; OUTPUTS];
        p[usage] = 0.65;
        p[churn] = 0.4;
        let target = Target {
            mention: true,
            ..Target::default()
        };
        let on = decide_with(&p, &t, target);
        // Usage is likelier, but churn stands further above its threshold (0.2 against 0.05).
        assert!(on[churn] && !on[usage]);
        p[churn] = 0.1;
        let on = decide_with(&p, &t, target);
        assert!(on[usage] && !on[churn]);
        // None clears its threshold: no phase.
        p[usage] = 0.55;
        assert!(family("phase").all(|o| !decide_with(&p, &t, target)[o]));
        // No target: no phase, however sure.
        p[usage] = 0.99;
        assert!(family("phase").all(|o| !decide_with(&p, &t, Target::default())[o]));
    }

    #[test]
    fn a_model_round_trips_and_garbage_is_rejected() {
        let mut w = vec![0.0f32; BUCKETS * OUTPUTS];
        w[7 * OUTPUTS + 3] = 2.0;
        w[9 * OUTPUTS + 3] = -1.0;
        let mut e = vec![0.0f32; BUCKETS];
        e[7] = -3.0;
        let m = SignalModel::quantised(&w, &e);
        let back = SignalModel::from_bytes(&m.to_bytes()).unwrap();
        assert_eq!(back, m);
        let p = m.predict(&[7]);
        assert!((p[3] - sigmoid(2.0)).abs() < 0.01, "{}", p[3]);
        assert!((m.predict(&[9])[3] - sigmoid(-1.0)).abs() < 0.01);
        assert!((m.effort_value(&[7]) + 3.0).abs() < 0.05);
        assert!(SignalModel::from_bytes(b"nonsense").is_err());
        assert!(SignalModel::from_bytes(&m.to_bytes()[..100]).is_err());
    }

    #[test]
    fn a_message_with_no_target_reads_sarcasm_at_its_own_threshold() {
        let mut m = SignalModel::quantised(&vec![0.0; BUCKETS * OUTPUTS], &vec![0.0; BUCKETS]);
        m.thresholds[SARCASM] = 0.7;
        let mut p = [0.0f32; OUTPUTS];
        p[SARCASM] = 0.5;
        let aimed = Target {
            mention: true,
            ..Target::default()
        };
        // One threshold for all until the model has one for messages with no target.
        assert!(!m.decide(&p, aimed)[SARCASM] && !m.decide(&p, Target::default())[SARCASM]);
        m.untargeted_sarcasm = Some(0.4);
        assert!(!m.decide(&p, aimed)[SARCASM], "aimed at a brand: 0.7");
        assert!(
            m.decide(&p, Target::default())[SARCASM],
            "aimed at no one: 0.4"
        );
        // It round-trips, with and without a second reading before it; garbage after it is not
        // a model.
        let back = SignalModel::from_bytes(&m.to_bytes()).expect("reads back");
        assert_eq!(back, m);
        m.stack = Some(Stack {
            weights: vec![0.25; STACKED * STACK_INPUTS],
        });
        let bytes = m.to_bytes();
        assert_eq!(SignalModel::from_bytes(&bytes).expect("reads back"), m);
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(SignalModel::from_bytes(&longer).is_err());
        assert!(SignalModel::from_bytes(&bytes[..bytes.len() - 2]).is_err());
        let mut nan = bytes.clone();
        let at = nan.len() - 4;
        nan[at..].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(SignalModel::from_bytes(&nan).is_err());
    }

    #[test]
    fn the_shipped_message_model_reads_twice_and_the_per_brand_model_once() {
        assert!(SignalModel::bundled().is_ok_and(|m| m.stacked()));
        assert!(SignalModel::bundled_aspects().is_ok_and(|m| !m.stacked()));
    }

    #[test]
    fn a_model_with_every_section_round_trips() {
        let mut m = SignalModel::untrained();
        m.stack = Some(Stack::identity());
        let table: Vec<f32> = (0..BUCKETS * 2).map(|k| (k % 7) as f32 * 0.01).collect();
        let out = vec![0.3f32; OUTPUTS * 2];
        m.hidden = Some(super::super::hidden::Hidden::quantised(
            2,
            &table,
            &[0.1, 0.2],
            &out,
        ));
        m.untargeted_sarcasm = Some(0.55);
        let bytes = m.to_bytes();
        let back = SignalModel::from_bytes(&bytes).unwrap();
        assert_eq!(back, m);
        // The layer reads: feature 3's row (0.06, 0.00) plus the biases, through both units.
        let z = back.logits(&[3]);
        assert!((z[0] - 0.3 * (0.06 + 0.1 + 0.2)).abs() < 1e-3, "{}", z[0]);
        assert!(SignalModel::from_bytes(&bytes[..bytes.len() - 9]).is_err());
    }

    #[test]
    fn a_second_reading_round_trips_and_decides() {
        let mut w = vec![0.0f32; BUCKETS * OUTPUTS];
        w[7 * OUTPUTS + 3] = 2.0;
        w[7 * OUTPUTS + 4] = -1.0;
        w[8 * OUTPUTS + 4] = 1.5;
        w[8 * OUTPUTS + MOMENT] = 0.5;
        let mut m = SignalModel::quantised(&w, &vec![0.0f32; BUCKETS]);
        let target = Target {
            ticket: true,
            ..Target::default()
        };
        // Without a second reading, `read` is `decide` on the first reading.
        assert_eq!(m.read(&[7], target), m.decide(&m.predict(&[7]), target));
        assert!(m.read(&[7], target)[3] && !m.read(&[7], target)[4]);
        // A second reading that turns output 4 on from output 3's first reading, and output 3
        // off.
        let mut stack = Stack::identity();
        stack.weights[at(3, 3)] = -1.0;
        stack.weights[at(4, 4)] = 0.0;
        stack.weights[at(3, 4)] = 1.0;
        m.stack = Some(stack);
        let on = m.read(&[7], target);
        assert!(!on[3] && on[4], "{on:?}");
        // The first reading is still what `predict` gives.
        assert!(m.predict(&[7])[3] > 0.85);
        // The evidence weighs a feature as the decision does: for output 4, which the second
        // reading reads from output 3 alone, feature 7 counts with its weight for output 3 (not
        // its own negative one for 4), and feature 8, which weighs for 4 alone, counts nothing.
        let z = m.logits(&[7]);
        assert_eq!(m.read_logits(&z, target), on);
        assert!(m.weight(7, 4) < 0.0 && m.weight(8, 4) > 0.0);
        assert!((m.weight_for(4, &z, &[7])(7) - m.weight(7, 3)).abs() < 1e-6);
        assert!(m.weight_for(3, &z, &[7])(7) < 0.0);
        assert_eq!(m.weight_for(4, &z, &[7])(8), 0.0);
        // The moment, which is not read again, weighs a feature by its own weight.
        assert!(m.weight(8, MOMENT) > 0.0);
        assert!((m.weight_for(MOMENT, &z, &[7])(8) - m.weight(8, MOMENT)).abs() < 1e-6);
        // A first reading beyond the clamp passes on the share the clamp keeps.
        let mut sure = z;
        sure[3] = 20.0;
        let kept = m.weight(7, 3) * 9.21 / 20.0;
        assert!((m.weight_for(4, &sure, &[7])(7) - kept).abs() < 1e-5);
        // Without a second reading, a feature weighs its own weight.
        let first = SignalModel::quantised(&w, &vec![0.0f32; BUCKETS]);
        assert!((first.weight_for(4, &z, &[7])(7) - first.weight(7, 4)).abs() < 1e-6);
        let bytes = m.to_bytes();
        let back = SignalModel::from_bytes(&bytes).unwrap();
        assert_eq!(back, m);
        assert!(back.stacked());
        // A cut or damaged second reading is an error, not a model.
        let base = bytes.len() - 4 * STACKED * STACK_INPUTS - 12;
        assert!(SignalModel::from_bytes(&bytes[..base]).is_ok_and(|m| !m.stacked()));
        for cut in [base + 2, base + 6, bytes.len() - 1] {
            assert!(SignalModel::from_bytes(&bytes[..cut]).is_err(), "{cut}");
        }
        let mut nan = bytes.clone();
        let at = bytes.len() - 4;
        nan[at..].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(SignalModel::from_bytes(&nan).is_err());
        let mut other = bytes;
        other[base] = b'X';
        assert!(SignalModel::from_bytes(&other).is_err());
    }
}
