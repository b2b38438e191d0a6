//! One customer's memory: what they said where, what is still open, and how they feel over time.
//!
//! [`CustomerState::apply`] folds one [`Observation`] in and returns what changed that a rule may act
//! on ([`Trigger`]s); [`CustomerState::merge`] joins two histories when an identity link says they
//! are one person. Everything is bounded: old detail ages out by time and by count, so a customer's
//! state stays a few kilobytes however long they have been talking.

use std::sync::Arc;

use compact_str::CompactString;
use litemap::LiteMap;

use super::set::Set;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::observation::Observation;
use super::offerings::Offerings;
use super::policy::Policy;
use crate::interaction::{Constituency, Segment};

/// Insight ids remembered to count a redelivered insight once.
pub const SEEN_IDS: usize = 256;
/// Problems kept (open or recently closed).
pub const PROBLEMS: usize = 8;
/// Messages kept as evidence per problem.
pub const PROBLEM_REFS: usize = 4;
/// Latest quotes kept for the customer.
pub const EVIDENCE: usize = 5;
/// Praise messages kept.
pub const PRAISE: usize = 8;
/// Journey phases kept.
pub const PHASES: usize = 8;
/// Channels, brands and accounts kept.
pub const SMALL_SETS: usize = 16;

/// A short name (a channel, product, line, brand, label): inline up to 24 bytes, so most of a
/// state's names cost no allocation to decode, clone or drop. It reads and writes as a string.
pub type Name = CompactString;

/// One message, as evidence: which insight, when, where, and its first words.
///
/// A message is often evidence in several places of a state at once: its quote is shared, and a
/// channel name of up to 24 bytes is held inline, so a copy allocates nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ref {
    pub insight_id: Uuid,
    #[serde(with = "super::codec::stamp")]
    pub at: DateTime<Utc>,
    pub channel: Name,
    pub quote: Arc<str>,
}

impl Ref {
    pub fn of(o: &Observation) -> Ref {
        Ref {
            insight_id: o.insight_id,
            at: o.occurred_at,
            channel: Name::from(o.channel.as_str()),
            quote: Arc::from(o.quote.as_str()),
        }
    }
}

/// An exponentially decayed mean: recent messages weigh most (half-life in the [`Policy`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    sum: f64,
    weight: f64,
    #[serde(with = "super::codec::stamp::option")]
    at: Option<DateTime<Utc>>,
}

impl Trend {
    fn decay(&self, to: DateTime<Utc>, half_life_days: f64) -> f64 {
        match self.at {
            Some(at) if to > at => {
                let days = (to - at).num_seconds() as f64 / 86_400.0;
                0.5f64.powf(days / half_life_days)
            }
            _ => 1.0,
        }
    }

    /// Adds a value observed at `at`.
    pub fn add(&mut self, value: f64, at: DateTime<Utc>, half_life_days: f64) {
        let d = self.decay(at, half_life_days);
        self.sum = self.sum * d + value;
        self.weight = self.weight * d + 1.0;
        self.at = Some(self.at.map_or(at, |t| t.max(at)));
    }

    /// The decayed mean, if anything was added.
    pub fn mean(&self) -> Option<f64> {
        (self.weight > 0.0).then(|| self.sum / self.weight)
    }

    /// Both trends' values as if added to one.
    fn merge(&mut self, other: &Trend, half_life_days: f64) {
        let Some(to) = self.at.max(other.at) else {
            return;
        };
        let (a, b) = (
            self.decay(to, half_life_days),
            other.decay(to, half_life_days),
        );
        self.sum = self.sum * a + other.sum * b;
        self.weight = self.weight * a + other.weight * b;
        self.at = Some(to);
    }
}

/// A complaint or support request not yet followed by praise or a resolved ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// Our products it is about, as far as the messages name them.
    pub products: Set<Name>,
    pub lines: Set<Name>,
    #[serde(with = "super::codec::stamp")]
    pub opened_at: DateTime<Utc>,
    #[serde(with = "super::codec::stamp")]
    pub last_at: DateTime<Utc>,
    /// Every channel it was raised on.
    pub channels: Set<Name>,
    /// The first message and the latest ones.
    pub refs: Vec<Ref>,
    pub open: bool,
}

/// A hard moment in the customer's life, live until it expires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveContext {
    pub label: Name,
    #[serde(with = "super::codec::stamp")]
    pub since: DateTime<Utc>,
    #[serde(with = "super::codec::stamp")]
    pub until: DateTime<Utc>,
    pub evidence: Ref,
}

/// A journey phase and when it was heard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseAt {
    pub phase: Name,
    #[serde(with = "super::codec::stamp")]
    pub at: DateTime<Utc>,
}

/// A brand the customer talked about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrandSeen {
    pub competitor: bool,
    pub count: u32,
}

/// When a customer insight type was last raised, and how severe it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Raised {
    #[serde(with = "super::codec::stamp")]
    pub at: DateTime<Utc>,
    pub severity: u8,
}

/// Everything remembered about one customer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerState {
    /// The customer key (pseudonymous when pseudonymisation is on).
    pub key: String,
    /// Accounts heard from (`party.id`s), this customer's own key included.
    pub accounts: Set<Name>,
    #[serde(with = "super::codec::stamp::option")]
    pub first_seen: Option<DateTime<Utc>>,
    #[serde(with = "super::codec::stamp::option")]
    pub last_seen: Option<DateTime<Utc>>,
    pub interactions: u64,
    /// Messages per channel.
    #[serde(deserialize_with = "super::cautious::lite_map")]
    pub channels: LiteMap<Name, u32>,
    /// Our product lines the customer uses or talked about.
    pub lines: Set<Name>,
    /// Our products the customer talked about.
    pub products: Set<Name>,
    #[serde(deserialize_with = "super::cautious::lite_map")]
    pub brands: LiteMap<Name, BrandSeen>,
    pub phases: Vec<PhaseAt>,
    pub sentiment: Trend,
    pub effort: Trend,
    pub problems: Vec<Problem>,
    pub contexts: Vec<LiveContext>,
    pub praise: Vec<Ref>,
    /// The latest message that signalled leaving (churn risk or a switch).
    pub leaving: Option<Ref>,
    pub switching_to: Option<Name>,
    pub segment: Option<Segment>,
    pub value_tier: Option<Name>,
    pub constituency: Option<Constituency>,
    /// The latest messages.
    pub evidence: Vec<Ref>,
    /// Insight ids already applied, newest last.
    pub seen: Vec<Uuid>,
    /// Customer insight types (with their detail) last raised.
    #[serde(deserialize_with = "super::cautious::lite_map")]
    pub raised: LiteMap<Name, Raised>,
}

/// What an observation changed that a rule may act on.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// An open problem was raised again on a channel it had not been raised on (its index).
    RepeatedEffort(usize),
    /// A hard moment became live (its index in `contexts`).
    NewContext(usize),
    /// A need that a product of a line the customer does not use answers.
    CrossLine { product: String, line: String },
    /// Praise or a recommendation.
    Praise,
}

/// `n` days, saturating (a policy may say a very long time).
pub fn days(n: i64) -> Duration {
    Duration::try_days(n).unwrap_or(Duration::MAX)
}

/// `t + d`, saturating at the latest time chrono knows (input dates are not trusted to be sane).
pub fn later(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn push_bounded<T>(v: &mut Vec<T>, item: T, max: usize) {
    v.push(item);
    if v.len() > max {
        let extra = v.len() - max;
        v.drain(..extra);
    }
}

impl CustomerState {
    pub fn new(key: &str) -> CustomerState {
        CustomerState {
            key: key.to_string(),
            ..CustomerState::default()
        }
    }

    /// Records an id (an insight's or a merge's) as applied.
    pub fn mark_seen(&mut self, id: Uuid) {
        if !self.has_seen(&id) {
            push_bounded(&mut self.seen, id, SEEN_IDS);
        }
    }

    /// Whether this insight was applied already.
    pub fn has_seen(&self, id: &Uuid) -> bool {
        self.seen.contains(id)
    }

    pub fn open_problems(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.open)
    }

    /// A valuable customer: business segment or a value tier the policy names.
    pub fn valuable(&self, policy: &Policy) -> bool {
        self.segment == Some(Segment::Business)
            || self.value_tier.as_ref().is_some_and(|t| {
                policy
                    .valuable_tiers
                    .iter()
                    .any(|v| v.eq_ignore_ascii_case(t))
            })
    }

    /// Drops what is too old to matter at `now`.
    fn age_out(&mut self, now: DateTime<Utc>, policy: &Policy) {
        let problem_expiry = days(policy.problem_expiry_days);
        self.problems.retain(|p| now - p.last_at <= problem_expiry);
        self.contexts.retain(|c| c.until >= now);
        let praise_window = days(policy.praise_window_days);
        self.praise.retain(|r| now - r.at <= praise_window);
        if self
            .leaving
            .as_ref()
            .is_some_and(|r| now - r.at > days(policy.leaving_window_days))
        {
            self.leaving = None;
            self.switching_to = None;
        }
    }

    /// Folds one observation in. `None` when this insight was applied before (a redelivery): the
    /// state is unchanged, so a redelivered insight counts once.
    pub fn apply(
        &mut self,
        o: &Observation,
        policy: &Policy,
        offerings: &Offerings,
    ) -> Option<Vec<Trigger>> {
        if self.has_seen(&o.insight_id) {
            return None;
        }
        push_bounded(&mut self.seen, o.insight_id, SEEN_IDS);
        let now = o.occurred_at;
        self.age_out(now, policy);
        let mut triggers = Vec::new();
        let r = Ref::of(o);

        if self.accounts.len() < SMALL_SETS {
            self.accounts.insert(Name::from(o.account.as_str()));
        }
        self.first_seen = Some(self.first_seen.map_or(now, |t| t.min(now)));
        self.last_seen = Some(self.last_seen.map_or(now, |t| t.max(now)));
        self.interactions += 1;
        if self.channels.len() < SMALL_SETS || self.channels.contains_key(o.channel.as_str()) {
            *self
                .channels
                .entry(Name::from(o.channel.as_str()))
                .or_default() += 1;
        }
        if o.segment.is_some() {
            self.segment = o.segment;
        }
        if o.value_tier.is_some() {
            self.value_tier = o.value_tier.as_deref().map(Name::from);
        }
        if o.constituency.is_some() {
            self.constituency = o.constituency;
        }
        for (b, competitor) in &o.brands {
            if self.brands.len() < SMALL_SETS || self.brands.contains_key(b.as_str()) {
                self.brands
                    .entry(Name::from(b.as_str()))
                    .or_insert(BrandSeen {
                        competitor: *competitor,
                        count: 0,
                    })
                    .count += 1;
            }
        }
        if let Some(p) = &o.journey_phase {
            push_bounded(
                &mut self.phases,
                PhaseAt {
                    phase: Name::from(p.as_str()),
                    at: now,
                },
                PHASES,
            );
        }
        if o.about_us {
            if let Some(s) = o.sentiment {
                self.sentiment.add(f64::from(s), now, policy.half_life_days);
            }
            if let Some(e) = o.effort {
                self.effort.add(f64::from(e), now, policy.half_life_days);
            }
        }
        push_bounded(&mut self.evidence, r.clone(), EVIDENCE);
        if o.signals_leaving() {
            self.leaving = Some(r.clone());
            if o.switching_to.is_some() {
                self.switching_to = o.switching_to.as_deref().map(Name::from);
            }
        }

        // Hard moments: live until they expire; a new one is a trigger.
        for label in o
            .contexts
            .iter()
            .filter(|c| policy.hard_contexts.contains(c))
        {
            let until = later(now, days(policy.context_expiry_days));
            match self.contexts.iter_mut().find(|c| c.label == *label) {
                Some(c) => c.until = c.until.max(until),
                None => {
                    self.contexts.push(LiveContext {
                        label: Name::from(label.as_str()),
                        since: now,
                        until,
                        evidence: r.clone(),
                    });
                    triggers.push(Trigger::NewContext(self.contexts.len() - 1));
                }
            }
        }

        // A need another of our lines answers (the lines known before this message).
        {
            if let Some((product, line)) = offerings.cross_line(o, &self.lines) {
                triggers.push(Trigger::CrossLine { product, line });
            }
        }
        for (p, line) in &o.products {
            if self.products.len() < SMALL_SETS {
                self.products.insert(Name::from(p.as_str()));
            }
            if let Some(l) = line {
                self.lines.insert(Name::from(l.as_str()));
            }
        }

        let products: Set<Name> = o
            .products
            .iter()
            .map(|(p, _)| Name::from(p.as_str()))
            .collect();
        let lines: Set<Name> = o
            .products
            .iter()
            .filter_map(|(_, l)| l.as_deref().map(Name::from))
            .collect();
        if o.raises_problem() {
            match self.matching_problem(&products) {
                Some(i) => {
                    let p = &mut self.problems[i];
                    let new_channel = p.channels.insert(Name::from(o.channel.as_str()));
                    p.last_at = p.last_at.max(now);
                    p.lines.extend(lines);
                    p.products.extend(products.iter().cloned());
                    // Keep the first message and the latest ones.
                    if p.refs.len() >= PROBLEM_REFS {
                        p.refs.remove(1);
                    }
                    p.refs.push(r.clone());
                    // A ticket that arrives solved still cost the customer another channel: the
                    // effort was spent (the dev split agrees: 0.879 -> 0.885 micro-F1 with this).
                    if new_channel {
                        triggers.push(Trigger::RepeatedEffort(i));
                    }
                }
                None => {
                    if self.problems.len() >= PROBLEMS {
                        // The oldest closed problem goes first, else the oldest.
                        let i = self.problems.iter().position(|p| !p.open).unwrap_or(0);
                        self.problems.remove(i);
                    }
                    self.problems.push(Problem {
                        products: products.clone(),
                        lines,
                        opened_at: now,
                        last_at: now,
                        channels: Set::from([Name::from(o.channel.as_str())]),
                        refs: vec![r.clone()],
                        open: true,
                    });
                }
            }
        }
        if o.praises() {
            push_bounded(&mut self.praise, r, PRAISE);
            triggers.push(Trigger::Praise);
        }
        if o.praises() && !o.raises_problem() || o.resolves() {
            if let Some(i) = self.matching_problem(&products) {
                self.problems[i].open = false;
            }
        }
        Some(triggers)
    }

    /// The open problem a message about `products` continues: the latest open one about one of
    /// them, or, when either names no product, the latest open one.
    fn matching_problem(&self, products: &Set<Name>) -> Option<usize> {
        self.problems
            .iter()
            .enumerate()
            .rev()
            .find(|(_, p)| {
                p.open
                    && (products.is_empty()
                        || p.products.is_empty()
                        || !products.is_disjoint(&p.products))
            })
            .map(|(i, _)| i)
    }

    /// Joins another history of the same person into this one (a late identity link). Returns
    /// the problems that now span two channels or more because of the merge.
    pub fn merge(&mut self, other: CustomerState, policy: &Policy) -> Vec<Trigger> {
        for a in other.accounts {
            if self.accounts.len() < SMALL_SETS {
                self.accounts.insert(a);
            }
        }
        self.first_seen = match (self.first_seen, other.first_seen) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let other_is_newer = other.last_seen > self.last_seen;
        self.last_seen = self.last_seen.max(other.last_seen);
        self.interactions += other.interactions;
        for (c, n) in other.channels {
            if self.channels.len() < SMALL_SETS || self.channels.contains_key(&c) {
                *self.channels.entry(c).or_default() += n;
            }
        }
        self.lines.extend(other.lines);
        for p in other.products {
            if self.products.len() < SMALL_SETS {
                self.products.insert(p);
            }
        }
        for (b, s) in other.brands {
            if self.brands.len() >= SMALL_SETS && !self.brands.contains_key(&b) {
                continue;
            }
            self.brands
                .entry(b)
                .or_insert(BrandSeen {
                    competitor: s.competitor,
                    count: 0,
                })
                .count += s.count;
        }
        let by_time = |a: &Ref, b: &Ref| a.at.cmp(&b.at).then(a.insight_id.cmp(&b.insight_id));
        self.phases.extend(other.phases);
        self.phases.sort_by_key(|a| a.at);
        let extra = self.phases.len().saturating_sub(PHASES);
        self.phases.drain(..extra);
        self.sentiment
            .merge(&other.sentiment, policy.half_life_days);
        self.effort.merge(&other.effort, policy.half_life_days);
        for c in other.contexts {
            match self.contexts.iter_mut().find(|x| x.label == c.label) {
                Some(x) => x.until = x.until.max(c.until),
                None => self.contexts.push(c),
            }
        }
        self.praise.extend(other.praise);
        self.praise.sort_by(by_time);
        let extra = self.praise.len().saturating_sub(PRAISE);
        self.praise.drain(..extra);
        self.leaving = match (self.leaving.take(), other.leaving) {
            (Some(a), Some(b)) => Some(if b.at > a.at { b } else { a }),
            (a, b) => a.or(b),
        };
        if other.switching_to.is_some() && (self.switching_to.is_none() || other_is_newer) {
            self.switching_to = other.switching_to;
        }
        if other_is_newer || self.segment.is_none() {
            self.segment = other.segment.or(self.segment);
            self.value_tier = other.value_tier.or(self.value_tier.take());
            self.constituency = other.constituency.or(self.constituency);
        }
        self.evidence.extend(other.evidence);
        self.evidence.sort_by(by_time);
        let extra = self.evidence.len().saturating_sub(EVIDENCE);
        self.evidence.drain(..extra);
        // The other history's ids first, this customer's own (the ones a redelivery in flight
        // may repeat) last, so the bound drops the other's oldest.
        let mine = std::mem::take(&mut self.seen);
        for id in other.seen.into_iter().chain(mine) {
            if !self.seen.contains(&id) {
                push_bounded(&mut self.seen, id, SEEN_IDS);
            }
        }
        for (k, r) in other.raised {
            match self.raised.get(&k) {
                Some(mine) if mine.at >= r.at => {}
                _ => {
                    self.raised.insert(k, r);
                }
            }
        }
        // Open problems about the same product (or either without one) are one problem.
        let mut triggers = Vec::new();
        for p in other.problems {
            let found = p.open.then(|| self.matching_problem(&p.products)).flatten();
            match found {
                Some(i) => {
                    let mine = &mut self.problems[i];
                    let before = mine.channels.len();
                    mine.channels.extend(p.channels);
                    mine.lines.extend(p.lines);
                    mine.products.extend(p.products);
                    mine.opened_at = mine.opened_at.min(p.opened_at);
                    mine.last_at = mine.last_at.max(p.last_at);
                    mine.refs.extend(p.refs);
                    mine.refs.sort_by(by_time);
                    while mine.refs.len() > PROBLEM_REFS {
                        mine.refs.remove(1);
                    }
                    if mine.channels.len() > before && mine.channels.len() >= 2 {
                        triggers.push(Trigger::RepeatedEffort(i));
                    }
                }
                None => {
                    if self.problems.len() >= PROBLEMS {
                        // A closed problem from the other history does not push out an open one.
                        let Some(i) = self
                            .problems
                            .iter()
                            .position(|x| !x.open)
                            .or_else(|| p.open.then_some(0))
                        else {
                            continue;
                        };
                        self.problems.remove(i);
                        triggers.retain(|t| *t != Trigger::RepeatedEffort(i));
                        for t in triggers.iter_mut() {
                            if let Trigger::RepeatedEffort(j) = t {
                                *j -= usize::from(*j > i);
                            }
                        }
                    }
                    self.problems.push(p);
                }
            }
        }
        triggers
    }
}
