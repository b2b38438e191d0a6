//! The market view: what a brand's customers say over time, for strategy teams.
//!
//! Insights are folded into **event-time tumbling windows** (several sizes at once, e.g. 5 minutes,
//! an hour and a day) per brand, product, product line and segment: volume, unique customers,
//! sentiment mix and net sentiment, emotion and intent mix, average effort, share of voice among
//! the catalog's brands, and the window's [themes](themes). A **watermark** — the latest event time
//! seen, less `watermark_delay` — closes a window: its first [`Trend`] (revision 0) is emitted when
//! the watermark passes its end. A message that arrives later, within `allowed_lateness`, updates
//! its window, and the window is emitted again with the next revision (a correction: the whole
//! window, never a second count; a reader keeps the last event of each `window_id`). Later than
//! that, a message is counted in [`Market::too_late`] and in none of the windows it came too late
//! for. Each closing window of the
//! alert size is checked for [spikes](alerts).
//!
//! Pure, as the analysis is: no clock (time is the messages' own), no I/O. The caller keeps the
//! [`Market`] (a file run keeps one; a stage would keep one per partition of a topic keyed by
//! brand) and writes what [`Market::observe`] returns.

pub mod alerts;
mod distinct;
pub mod eval;
pub mod heard;
pub mod shard;
mod stored;
pub mod themes;
pub mod window;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use alerts::Alert;
pub use heard::Heard;
use themes::{History, Theme};
use window::Aggregate;

use crate::emotion::EKMAN;
use crate::insight::Insight;
use crate::interaction::Segment;

/// Value of the `schema` field of every trend event of this version.
pub const SCHEMA: &str = "earshot.trend.v1";

/// What a window is kept for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Key: the brand id.
    Brand,
    /// Key: the product id.
    Product,
    /// Key: `brand/line` (`larkspur/home`): lines are a brand's own.
    Line,
    /// Key: `brand/segment` (`larkspur/business`).
    Segment,
}

/// The market view's settings (`[market]` in the configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Window sizes in seconds; each divides a day or is a whole number of days.
    pub window_seconds: Vec<u32>,
    /// The watermark trails the latest event time by this much.
    pub watermark_delay_seconds: u32,
    /// A window takes late messages (and is corrected) until the watermark is this far past its
    /// end.
    pub allowed_lateness_seconds: u32,
    /// Themes a trend event carries at most.
    pub themes: usize,
    pub alerts: alerts::Policy,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            window_seconds: vec![3_600, 86_400],
            watermark_delay_seconds: 300,
            allowed_lateness_seconds: 86_400,
            themes: 5,
            alerts: alerts::Policy::default(),
        }
    }
}

impl Policy {
    /// Refuses sizes a day cannot be cut into, or none at all.
    pub fn check(&self) -> Result<(), String> {
        if self.window_seconds.is_empty() {
            return Err("market.window_seconds: at least one window size".into());
        }
        let mut sizes = self.window_seconds.clone();
        sizes.sort_unstable();
        sizes.dedup();
        if sizes.len() != self.window_seconds.len() {
            return Err("market.window_seconds: each size once".into());
        }
        for &s in &self.window_seconds {
            if s < 60 || (86_400 % s != 0 && s % 86_400 != 0) {
                return Err(format!(
                    "market.window_seconds: {s} must be at least 60 and divide a day (86400) or be whole days"
                ));
            }
        }
        if let Some(a) = self.alerts.window_seconds {
            if !self.window_seconds.contains(&a) {
                return Err(format!(
                    "market.alerts.window_seconds: {a} is not one of market.window_seconds"
                ));
            }
        }
        Ok(())
    }

    /// The window size alerts are checked on: the configured one, else the smallest.
    pub fn alert_size(&self) -> u32 {
        self.alerts
            .window_seconds
            .or_else(|| self.window_seconds.iter().copied().min())
            .unwrap_or(3_600)
    }
}

/// A window's time span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    #[serde(serialize_with = "crate::insight::rfc3339")]
    pub start: DateTime<Utc>,
    #[serde(serialize_with = "crate::insight::rfc3339")]
    pub end: DateTime<Utc>,
    pub size_seconds: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentMix {
    pub positive: u32,
    pub neutral: u32,
    pub negative: u32,
    /// Messages in a language the analysers do not read: no sentiment, not neutral.
    pub unread: u32,
    /// (positive − negative) / (positive + neutral + negative); absent when none was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffortMean {
    /// −5 (very hard) to +5 (very easy).
    pub mean: f64,
    pub count: u32,
}

/// A trend event (`schemas/trend.v1.json`): one window of one key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    pub schema: String,
    /// This emission.
    pub id: Uuid,
    /// The window: the same for each of its revisions.
    pub window_id: Uuid,
    pub dimension: Dimension,
    pub key: String,
    pub brand: String,
    /// A brand of the catalog's competitors.
    pub competitor: bool,
    pub window: Span,
    /// 0 when the watermark closed the window; one more for each correction by late messages.
    pub revision: u32,
    /// Messages about the key.
    pub volume: u32,
    pub unique_customers: u32,
    pub sentiment: SentimentMix,
    /// Messages per dominant emotion group (groups with none left out).
    pub emotions: BTreeMap<String, u32>,
    /// Messages per intent about the key (intents with none left out).
    pub intents: BTreeMap<String, u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effort: Option<EffortMean>,
    /// For a brand: its volume over the volume of every brand in the same window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_of_voice: Option<f64>,
    pub themes: Vec<Theme>,
}

/// What the market view emits.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Trend(Box<Trend>),
    Alert(Box<Alert>),
}

/// A window's place: size, start (seconds since the epoch), dimension, key (its index in
/// [`Keys`]).
type Place = (u32, i64, Dimension, u32);

/// What a key is about, kept beside its windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Owner {
    dimension: Dimension,
    key: String,
    brand: String,
    competitor: bool,
}

/// A key as a message names it, looked up without building a `String`.
#[derive(Hash)]
struct KeyRef<'a>(Dimension, &'a str);

impl hashbrown::Equivalent<(Dimension, String)> for KeyRef<'_> {
    fn equivalent(&self, k: &(Dimension, String)) -> bool {
        self.0 == k.0 && self.1 == k.1
    }
}

/// Every key seen, numbered in the order first seen (stored as the owners; the index is built
/// again when read back).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(from = "Vec<Owner>", into = "Vec<Owner>")]
struct Keys {
    index: hashbrown::HashMap<(Dimension, String), u32, rustc_hash::FxBuildHasher>,
    owners: Vec<Owner>,
}

impl From<Vec<Owner>> for Keys {
    fn from(owners: Vec<Owner>) -> Keys {
        let index = owners
            .iter()
            .enumerate()
            .map(|(n, o)| ((o.dimension, o.key.clone()), n as u32))
            .collect();
        Keys { index, owners }
    }
}

impl From<Keys> for Vec<Owner> {
    fn from(k: Keys) -> Vec<Owner> {
        k.owners
    }
}

impl Keys {
    fn id(&mut self, dimension: Dimension, key: &str, a: &heard::About) -> u32 {
        if let Some(&id) = self.index.get(&KeyRef(dimension, key)) {
            return id;
        }
        let id = u32::try_from(self.owners.len()).unwrap_or(u32::MAX);
        self.owners.push(Owner {
            dimension,
            key: key.to_string(),
            brand: a.brand.clone(),
            competitor: a.competitor,
        });
        self.index.insert((dimension, key.to_string()), id);
        id
    }
}

/// The market view over a stream.
///
/// It serializes (serde, `stored.rs`) to what a stage keeps of it: all but the policy, which
/// [`Market::configure`] sets again from the configuration.
pub struct Market {
    policy: Policy,
    stems: heard::Stems,
    windows: BTreeMap<Place, Aggregate>,
    keys: Keys,
    /// Emitted windows changed since their emission.
    dirty: BTreeSet<Place>,
    /// The earliest end among windows not emitted yet (`i64::MAX` when none).
    next_due: i64,
    /// The earliest time a window leaves (its end and the lateness).
    next_gone: i64,
    latest: Option<i64>,
    watermark: i64,
    /// Windows ending at or before it have been emitted: the watermark, or further when a stage
    /// closed windows of an idle stream ([`Market::close_until`]).
    closed: i64,
    themes: HashMap<(u32, Dimension, u32), History>,
    alerts: alerts::Detector,
    too_late: u64,
    /// Brand volumes of brands this market does not hold, by window size and start: their share
    /// of voice with this market's brands (see [`Market::share`]).
    others: BTreeMap<(u32, i64), BTreeMap<String, u32>>,
}

impl std::fmt::Debug for Market {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Market")
            .field("open_windows", &self.windows.len())
            .field("watermark", &self.watermark)
            .field("too_late", &self.too_late)
            .finish()
    }
}

fn segment_name(s: Segment) -> &'static str {
    match s {
        Segment::Business => "business",
        Segment::Consumer => "consumer",
    }
}

fn time(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl Market {
    /// A market view with `policy` (checked by the caller with [`Policy::check`]).
    pub fn new(policy: Policy) -> Market {
        let alerts = alerts::Detector::new(policy.alerts.clone(), policy.alert_size());
        Market {
            policy,
            stems: heard::Stems::default(),
            windows: BTreeMap::new(),
            keys: Keys::default(),
            dirty: BTreeSet::new(),
            next_due: i64::MAX,
            next_gone: i64::MAX,
            latest: None,
            watermark: i64::MIN,
            closed: i64::MIN,
            themes: HashMap::new(),
            alerts,
            too_late: 0,
            others: BTreeMap::new(),
        }
    }

    /// A market read back from its serialized form takes the configuration's policy again.
    pub fn configure(&mut self, policy: Policy) {
        self.alerts
            .configure(policy.alerts.clone(), policy.alert_size());
        self.policy = policy;
    }

    /// The volume of a brand this market does not hold in its window of `size` seconds from
    /// `start` (seconds since the epoch), as the market that holds it emitted it. A stage that
    /// splits the brands among markets gives each the others' volumes so: share of voice counts
    /// every brand of the window, and this market's brand windows of that time already emitted are
    /// due to go out again (a correction) when it changed. A brand this market holds is its own to
    /// count. Returns whether a correction is now due.
    ///
    /// The corrections go out with the next [`Market::advance`] or [`Market::close_until`] (a
    /// stage calls them for every brand each commit interval), not here: each brand's volume of
    /// a window comes on its own, and emitting on each made a window's events grow with the square
    /// of the brands (with ten brands, four times the events of one market over the same stream).
    pub fn share(&mut self, size: u32, start: i64, brand: &str, volume: u32) -> bool {
        if self
            .keys
            .index
            .contains_key(&KeyRef(Dimension::Brand, brand))
            || !self.policy.window_seconds.contains(&size)
        {
            return false;
        }
        let lateness = i64::from(self.policy.allowed_lateness_seconds);
        if start
            .saturating_add(i64::from(size))
            .saturating_add(lateness)
            <= self.watermark
        {
            return false;
        }
        let slot = self.others.entry((size, start)).or_default();
        if slot.get(brand) == Some(&volume) {
            return false;
        }
        slot.insert(brand.to_string(), volume);
        let before = self.dirty.len();
        self.dirty.extend(
            self.windows
                .range(
                    (size, start, Dimension::Brand, 0)..=(size, start, Dimension::Brand, u32::MAX),
                )
                .filter(|(_, a)| a.emitted.is_some())
                .map(|(p, _)| *p),
        );
        self.dirty.len() > before
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Messages that came after some of their windows stopped taking them (counted by the others).
    pub fn too_late(&self) -> u64 {
        self.too_late
    }

    /// Windows open now.
    pub fn open_windows(&self) -> usize {
        self.windows.len()
    }

    /// Bytes the open windows hold, roughly (a message's phrases once, however many windows keep
    /// them).
    pub fn window_bytes(&self) -> usize {
        let mut seen = std::collections::HashSet::new();
        let phrases: usize = self
            .windows
            .values()
            .flat_map(Aggregate::phrases)
            .filter(|(ptr, _)| seen.insert(*ptr))
            .map(|(_, bytes)| bytes)
            .sum();
        let own: usize = self
            .windows
            .values()
            .map(|a| a.heap_bytes() + std::mem::size_of::<Place>())
            .sum();
        own + phrases
    }

    /// The watermark: windows ending at or before it are closed.
    pub fn watermark(&self) -> Option<DateTime<Utc>> {
        (self.watermark != i64::MIN).then(|| time(self.watermark))
    }

    /// Folds one insight in; returns the trends and alerts it makes due.
    pub fn observe(&mut self, insight: &Insight) -> Vec<Output> {
        let h = Heard::of(insight, &mut self.stems);
        self.observe_heard(&h, |at| heard::shorten(heard::sentence(&insight.text, at)))
    }

    /// Folds one message in. `quote` gives the quote of the mention at a byte offset of the text.
    pub fn observe_heard(&mut self, h: &Heard, quote: impl Fn(usize) -> String) -> Vec<Output> {
        let t = h.at.timestamp();
        let lateness = i64::from(self.policy.allowed_lateness_seconds);
        // The keys of the message, each once, read by its first mention of it.
        let mut keys: Vec<(Dimension, u32, usize)> = Vec::with_capacity(4 * h.about.len());
        let mut composite = String::new();
        if !self.others.is_empty() {
            for a in &h.about {
                if !self
                    .keys
                    .index
                    .contains_key(&KeyRef(Dimension::Brand, &a.brand))
                {
                    // A brand new to this market is its own to count, not another market's.
                    for o in self.others.values_mut() {
                        o.remove(&a.brand);
                    }
                }
            }
        }
        for (n, a) in h.about.iter().enumerate() {
            let mut add = |dim: Dimension, key: &str, keys: &mut Vec<(Dimension, u32, usize)>| {
                let id = self.keys.id(dim, key, a);
                if !keys.iter().any(|k| k.0 == dim && k.1 == id) {
                    keys.push((dim, id, n));
                }
            };
            add(Dimension::Brand, &a.brand, &mut keys);
            if let Some(p) = &a.product {
                add(Dimension::Product, p, &mut keys);
            }
            if let Some(l) = &a.line {
                composite.clear();
                composite.push_str(&a.brand);
                composite.push('/');
                composite.push_str(l);
                add(Dimension::Line, &composite, &mut keys);
            }
            if let Some(seg) = h.segment {
                composite.clear();
                composite.push_str(&a.brand);
                composite.push('/');
                composite.push_str(segment_name(seg));
                add(Dimension::Segment, &composite, &mut keys);
            }
        }
        let mut late = false;
        for &size in &self.policy.window_seconds {
            let size64 = i64::from(size);
            let start = t.div_euclid(size64) * size64;
            let end = start.saturating_add(size64);
            if end.saturating_add(lateness) <= self.watermark {
                late = true;
                continue;
            }
            for &(dim, id, n) in &keys {
                let place = (size, start, dim, id);
                let a = self.windows.entry(place).or_insert_with(|| {
                    self.next_due = self.next_due.min(end);
                    self.next_gone = self.next_gone.min(end.saturating_add(lateness));
                    Aggregate::default()
                });
                if a.emitted.is_some() && !a.dirty {
                    self.dirty.insert(place);
                }
                let about = &h.about[n];
                let themes = matches!(dim, Dimension::Brand | Dimension::Product);
                a.add(h, about, themes, || quote(about.at));
            }
        }
        if late {
            self.too_late += 1;
        }
        let latest = self.latest.map_or(t, |l| l.max(t));
        self.latest = Some(latest);
        let mark = latest.saturating_sub(i64::from(self.policy.watermark_delay_seconds));
        if mark > self.watermark {
            self.advance(mark)
        } else {
            Vec::new()
        }
    }

    /// Moves the watermark to `mark` (a stage's idle timer may call this as event time would have
    /// moved): corrections of windows changed since their emission, first emissions of windows
    /// that end at or before it, and the end of windows it has left behind by `allowed_lateness`.
    pub fn advance(&mut self, mark: i64) -> Vec<Output> {
        let (mut out, corrected) = self.corrections();
        if mark <= self.watermark {
            return out;
        }
        self.watermark = mark;
        out.extend(self.close(mark, &corrected));
        if mark >= self.next_gone {
            let lateness = i64::from(self.policy.allowed_lateness_seconds);
            let gone = |p: &Place| p.1.saturating_add(i64::from(p.0)).saturating_add(lateness);
            self.windows.retain(|p, _| gone(p) > mark);
            self.next_gone = self.windows.keys().map(gone).min().unwrap_or(i64::MAX);
        }
        if !self.others.is_empty() {
            let lateness = i64::from(self.policy.allowed_lateness_seconds);
            self.others.retain(|&(size, start), _| {
                start
                    .saturating_add(i64::from(size))
                    .saturating_add(lateness)
                    > mark
            });
        }
        out
    }

    /// Emits the windows that end at or before `mark` (and the corrections due) without moving
    /// the watermark: nothing leaves and nothing becomes too late. A stage calls it for a stream
    /// that has gone quiet, as a clock would have moved event time on.
    pub fn close_until(&mut self, mark: i64) -> Vec<Output> {
        let (mut out, corrected) = self.corrections();
        out.extend(self.close(mark, &corrected));
        out
    }

    /// First emissions of the windows that end at or before `mark`, and the brand windows whose
    /// share of voice a window born late changed (unless in `corrected`, emitted just before).
    fn close(&mut self, mark: i64, corrected: &BTreeSet<Place>) -> Vec<Output> {
        let mut out = Vec::new();
        let old = self.closed;
        self.closed = self.closed.max(mark);
        if mark >= self.next_due {
            let due: BTreeSet<Place> = self
                .windows
                .iter()
                .filter(|(p, a)| a.emitted.is_none() && p.1.saturating_add(i64::from(p.0)) <= mark)
                .map(|(p, _)| *p)
                .collect();
            for p in &due {
                out.extend(self.emit(p));
            }
            // A brand window born after its time closed (its first message late) changes the share
            // of voice of the brand windows emitted before it: they go out again (unless the
            // corrections above just did).
            let mut siblings: BTreeSet<Place> = BTreeSet::new();
            for p in due.iter().filter(|p| p.2 == Dimension::Brand) {
                if p.1.saturating_add(i64::from(p.0)) > old {
                    continue;
                }
                let range =
                    (p.0, p.1, Dimension::Brand, 0)..=(p.0, p.1, Dimension::Brand, u32::MAX);
                siblings.extend(
                    self.windows
                        .range(range)
                        .map(|(q, _)| *q)
                        .filter(|q| !due.contains(q) && !corrected.contains(q)),
                );
            }
            for p in &siblings {
                out.extend(self.emit(p));
            }
            self.next_due = self
                .windows
                .iter()
                .filter(|(_, a)| a.emitted.is_none())
                .map(|(p, _)| p.1.saturating_add(i64::from(p.0)))
                .min()
                .unwrap_or(i64::MAX);
        }
        out
    }

    /// Closes every window: the end of a bounded input (a file), as if event time ran out.
    pub fn finish(&mut self) -> Vec<Output> {
        self.advance(i64::MAX)
    }

    /// Emits again every window changed since its emission, and every brand window of the same
    /// time as a changed brand window (its share of voice changed with it).
    /// Returns the emissions and the windows emitted.
    fn corrections(&mut self) -> (Vec<Output>, BTreeSet<Place>) {
        if self.dirty.is_empty() {
            return (Vec::new(), BTreeSet::new());
        }
        let mut dirty = std::mem::take(&mut self.dirty);
        let times: BTreeSet<(u32, i64)> = dirty
            .iter()
            .filter(|p| p.2 == Dimension::Brand)
            .map(|p| (p.0, p.1))
            .collect();
        for (size, start) in times {
            let siblings: Vec<Place> = self
                .windows
                .range(
                    (size, start, Dimension::Brand, 0)..=(size, start, Dimension::Brand, u32::MAX),
                )
                .filter(|(_, a)| a.emitted.is_some())
                .map(|(q, _)| *q)
                .collect();
            dirty.extend(siblings);
        }
        let out = dirty.iter().flat_map(|p| self.emit(p)).collect();
        (out, dirty)
    }

    /// One emission of the window at `p`, and the alerts of a first emission.
    fn emit(&mut self, p: &Place) -> Vec<Output> {
        let &(size, start, dim, id) = p;
        let share_of_voice = (dim == Dimension::Brand).then(|| {
            // Sums in u64: other brands' volumes come from a topic.
            let others: u64 = self
                .others
                .get(&(size, start))
                .map_or(0, |o| o.values().map(|&v| u64::from(v)).sum());
            let all: u64 = self
                .windows
                .range(
                    (size, start, Dimension::Brand, 0)..=(size, start, Dimension::Brand, u32::MAX),
                )
                .map(|(_, a)| u64::from(a.volume))
                .sum::<u64>()
                + others;
            self.windows
                .get(p)
                .map_or(0.0, |a| f64::from(a.volume) / all.max(1) as f64)
        });
        let Some(owner) = self.keys.owners.get(id as usize).cloned() else {
            return Vec::new();
        };
        let themes_max = self.policy.themes;
        let Some(a) = self.windows.get_mut(p) else {
            return Vec::new();
        };
        let revision = a.emitted.map_or(0, |r| r + 1);
        a.emitted = Some(revision);
        a.dirty = false;
        let mut themes = if matches!(dim, Dimension::Brand | Dimension::Product) {
            // Emitted again for another brand's volume (share of voice), nothing of its own
            // changed: the themes chosen last time.
            a.themes
                .get_or_insert_with(|| themes::select(&a.docs, a.volume, themes_max))
                .clone()
        } else {
            Vec::new()
        };
        let history = self.themes.entry((size, dim, id)).or_default();
        if revision == 0 {
            history.judge(&mut themes);
            a.statuses = themes
                .iter()
                .map(|t| (t.kind, t.key.clone(), t.status))
                .collect();
        } else {
            // A correction keeps the verdicts of the window's close; a theme it did not have is
            // steady (judged now, against windows that came after it, the verdict would depend on
            // when the late message arrived).
            for t in &mut themes {
                t.status = a
                    .statuses
                    .iter()
                    .find(|s| s.0 == t.kind && s.1 == t.key)
                    .map_or(themes::Status::Steady, |s| s.2);
            }
        }
        let name = format!("{size}/{start}/{dim:?}/{}", owner.key);
        let (window_id, emission) = window::ids(&name, revision);
        let trend = Trend {
            schema: SCHEMA.to_string(),
            id: emission,
            window_id,
            dimension: dim,
            key: owner.key,
            brand: owner.brand,
            competitor: owner.competitor,
            window: Span {
                start: time(start),
                end: time(start.saturating_add(i64::from(size))),
                size_seconds: size,
            },
            revision,
            volume: a.volume,
            unique_customers: a.unique_customers(),
            sentiment: SentimentMix {
                positive: a.positive,
                neutral: a.neutral,
                negative: a.negative,
                unread: a.unread,
                net: a.net_sentiment(),
            },
            emotions: EKMAN
                .iter()
                .zip(a.emotions)
                .filter(|(_, n)| *n > 0)
                .map(|(e, n)| (e.to_string(), n))
                .collect(),
            intents: heard::intents()
                .zip(a.intents)
                .filter(|(_, n)| *n > 0)
                .map(|(i, n)| (i.to_string(), n))
                .collect(),
            effort: (a.effort_count > 0).then(|| EffortMean {
                mean: a.effort_sum as f64 / f64::from(a.effort_count),
                count: a.effort_count,
            }),
            share_of_voice,
            themes,
        };
        let mut out = Vec::new();
        let alerted = size == self.policy.alert_size()
            && matches!(dim, Dimension::Brand | Dimension::Product);
        if alerted && revision > 0 {
            // Later baselines read the window as corrected.
            self.alerts.revise(&trend);
        }
        if alerted && revision == 0 {
            let quotes: Vec<_> = a.negatives.iter().map(|(_, q)| q.clone()).collect();
            out.extend(
                self.alerts
                    .check(&trend, quotes)
                    .into_iter()
                    .map(|a| Output::Alert(Box::new(a))),
            );
        }
        out.insert(0, Output::Trend(Box::new(trend)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::heard::About;
    use super::*;
    use crate::types::Label;

    /// 2026-11-02 00:00 UTC.
    const T0: i64 = 1_793_577_600;

    fn about(brand: &str, product: Option<&str>, label: Label) -> About {
        About {
            brand: brand.into(),
            product: product.map(String::from),
            line: product.map(|_| "home".to_string()),
            competitor: brand != "larkspur",
            at: 0,
            label: Some(label),
            compound: match label {
                Label::Positive => 0.5,
                Label::Neutral => 0.0,
                Label::Negative => -0.5,
            },
            intents: 1,
            phrases: None,
        }
    }

    fn heard(n: u128, at: i64, customer: u64, about: Vec<About>) -> Heard {
        Heard {
            insight: Uuid::from_u128(n),
            at: time(at),
            customer,
            segment: Some(Segment::Business),
            emotion: Some(3),
            effort: Some(-2),
            about,
        }
    }

    fn hourly() -> Policy {
        Policy {
            window_seconds: vec![3_600],
            watermark_delay_seconds: 60,
            allowed_lateness_seconds: 3_600,
            ..Policy::default()
        }
    }

    fn trends(out: Vec<Output>) -> Vec<Trend> {
        out.into_iter()
            .filter_map(|o| match o {
                Output::Trend(t) => Some(*t),
                Output::Alert(_) => None,
            })
            .collect()
    }

    #[test]
    fn a_window_closes_when_the_watermark_passes_its_end() {
        let mut m = Market::new(hourly());
        let l = |n, at, c| heard(n, at, c, vec![about("larkspur", None, Label::Negative)]);
        assert!(m
            .observe_heard(&l(1, T0 + 10, 1), |_| "q".into())
            .is_empty());
        assert!(m
            .observe_heard(&l(2, T0 + 20, 1), |_| "q".into())
            .is_empty());
        // 01:00:30 puts the watermark at 00:59:30: the first hour is still open.
        assert!(m
            .observe_heard(&l(3, T0 + 3_630, 2), |_| "q".into())
            .is_empty());
        let out = trends(m.observe_heard(&l(4, T0 + 3_661, 2), |_| "q".into()));
        let brand: Vec<&Trend> = out
            .iter()
            .filter(|t| t.dimension == Dimension::Brand)
            .collect();
        assert_eq!(brand.len(), 1, "{out:?}");
        let t = brand[0];
        assert_eq!((t.volume, t.unique_customers, t.revision), (2, 1, 0));
        assert_eq!(t.window.start, time(T0));
        assert_eq!(t.window.end, time(T0 + 3_600));
        assert_eq!(t.sentiment.negative, 2);
        assert_eq!(t.sentiment.net, Some(-1.0));
        assert_eq!(t.effort.as_ref().map(|e| e.mean), Some(-2.0));
        assert_eq!(t.emotions.get(EKMAN[3]), Some(&2));
        assert_eq!(t.intents.get("complaint"), Some(&2));
        assert_eq!(t.share_of_voice, Some(1.0));
        // The segment window of the same hour closed with it.
        assert!(out
            .iter()
            .any(|t| t.dimension == Dimension::Segment && t.key == "larkspur/business"));
    }

    #[test]
    fn a_late_message_corrects_its_window_and_a_later_one_counts_nowhere() {
        let mut m = Market::new(hourly());
        let l = |n, at| {
            heard(
                n,
                at,
                n as u64,
                vec![about("larkspur", None, Label::Positive)],
            )
        };
        m.observe_heard(&l(1, T0 + 10), |_| "q".into());
        let first = trends(m.observe_heard(&l(2, T0 + 3_700), |_| "q".into()));
        let first = first
            .iter()
            .find(|t| t.dimension == Dimension::Brand)
            .cloned();
        let first = first.expect("the first hour closed");
        // Late, within the lateness: nothing yet, then a correction when the watermark moves.
        assert!(m.observe_heard(&l(3, T0 + 50), |_| "q".into()).is_empty());
        let out = trends(m.observe_heard(&l(4, T0 + 3_800), |_| "q".into()));
        let fixed = out
            .iter()
            .find(|t| t.dimension == Dimension::Brand && t.window_id == first.window_id)
            .expect("a correction of the first hour");
        assert_eq!((fixed.revision, fixed.volume), (1, 2));
        assert_ne!(fixed.id, first.id);
        assert_eq!(m.too_late(), 0);
        // The watermark passes the first hour's end by more than the lateness: too late.
        m.observe_heard(&l(5, T0 + 3 * 3_600), |_| "q".into());
        m.observe_heard(&l(6, T0 + 20), |_| "q".into());
        assert_eq!(m.too_late(), 1);
        let rest = trends(m.finish());
        assert!(rest.iter().all(|t| t.window.start != time(T0)), "{rest:?}");
    }

    #[test]
    fn share_of_voice_splits_a_window_among_the_brands() {
        let mut m = Market::new(hourly());
        let mut n = 0;
        for (brand, count) in [("larkspur", 3), ("corvid", 1)] {
            for _ in 0..count {
                n += 1;
                m.observe_heard(
                    &heard(
                        n,
                        T0 + 60,
                        n as u64,
                        vec![about(brand, None, Label::Neutral)],
                    ),
                    |_| "q".into(),
                );
            }
        }
        let out = trends(m.finish());
        let sov = |b: &str| {
            out.iter()
                .find(|t| t.dimension == Dimension::Brand && t.key == b)
                .and_then(|t| t.share_of_voice)
        };
        assert_eq!(sov("larkspur"), Some(0.75));
        assert_eq!(sov("corvid"), Some(0.25));
        let corvid = out.iter().find(|t| t.key == "corvid").map(|t| t.competitor);
        assert_eq!(corvid, Some(true));
    }

    #[test]
    fn a_brand_window_born_late_re_emits_its_siblings_share_of_voice() {
        let mut m = Market::new(hourly());
        let b = |n, at, brand| heard(n, at, n as u64, vec![about(brand, None, Label::Neutral)]);
        let mut out = m.observe_heard(&b(1, T0 + 10, "larkspur"), |_| "q".into());
        out.extend(m.observe_heard(&b(2, T0 + 3_700, "larkspur"), |_| "q".into()));
        // Corvid's first message of the first hour, after that hour was emitted.
        out.extend(m.observe_heard(&b(3, T0 + 100, "corvid"), |_| "q".into()));
        out.extend(m.observe_heard(&b(4, T0 + 3_800, "larkspur"), |_| "q".into()));
        let mut last: BTreeMap<String, (u32, f64)> = BTreeMap::new();
        for t in trends(out) {
            if t.dimension == Dimension::Brand && t.window.start == time(T0) {
                let sov = t.share_of_voice.unwrap_or(0.0);
                let e = last.entry(t.key.clone()).or_insert((t.revision, sov));
                if t.revision >= e.0 {
                    *e = (t.revision, sov);
                }
            }
        }
        assert_eq!(last.get("larkspur"), Some(&(1, 0.5)), "{last:?}");
        assert_eq!(last.get("corvid"), Some(&(0, 0.5)), "{last:?}");
    }

    #[test]
    fn a_window_goes_out_once_per_change() {
        let mut m = Market::new(hourly());
        let b = |n, at, brands: &[&str]| {
            let about = brands
                .iter()
                .map(|b| about(b, None, Label::Neutral))
                .collect();
            heard(n, at, n as u64, about)
        };
        let mut out = m.observe_heard(&b(1, T0 + 10, &["larkspur"]), |_| "q".into());
        out.extend(m.observe_heard(&b(2, T0 + 3_700, &["larkspur"]), |_| "q".into()));
        // Late for larkspur's emitted hour, and corvid's first message of it.
        out.extend(m.observe_heard(&b(3, T0 + 100, &["larkspur", "corvid"]), |_| "q".into()));
        out.extend(m.observe_heard(&b(4, T0 + 3_800, &["larkspur"]), |_| "q".into()));
        let revisions: Vec<(String, u32)> = trends(out)
            .into_iter()
            .filter(|t| t.dimension == Dimension::Brand && t.window.start == time(T0))
            .map(|t| (t.key, t.revision))
            .collect();
        assert_eq!(
            revisions,
            [
                ("larkspur".to_string(), 0),
                ("larkspur".to_string(), 1),
                ("corvid".to_string(), 0)
            ]
        );
    }

    #[test]
    fn a_message_too_late_for_an_hour_still_counts_in_its_day() {
        let mut m = Market::new(Policy {
            window_seconds: vec![3_600, 86_400],
            watermark_delay_seconds: 0,
            allowed_lateness_seconds: 3_600,
            ..Policy::default()
        });
        let l = |n, at| {
            heard(
                n,
                at,
                n as u64,
                vec![about("larkspur", None, Label::Neutral)],
            )
        };
        m.observe_heard(&l(1, T0 + 7_300), |_| "q".into());
        m.observe_heard(&l(2, T0 + 10), |_| "q".into());
        assert_eq!(m.too_late(), 1);
        let out = trends(m.finish());
        let volume = |size: u32, start: i64| {
            out.iter()
                .filter(|t| t.dimension == Dimension::Brand)
                .filter(|t| t.window.size_seconds == size && t.window.start == time(start))
                .map(|t| t.volume)
                .max()
        };
        assert_eq!(volume(86_400, T0), Some(2));
        assert_eq!(volume(3_600, T0), None);
    }

    #[test]
    fn a_correction_keeps_the_themes_verdict_of_the_close() {
        use super::heard::{Gram, Phrases, ThemeKind};
        let phrase = |word: &str| {
            Some(std::sync::Arc::new(Phrases {
                kind: ThemeKind::Complaint,
                grams: vec![Gram {
                    key: word.into(),
                    label: word.into(),
                }],
                quote: format!("the {word} again"),
            }))
        };
        let mut m = Market::new(Policy {
            allowed_lateness_seconds: 10 * 3_600,
            ..hourly()
        });
        let mut out = Vec::new();
        let mut n = 0;
        // Four hours of "bill", then "outage" in the fifth: new there.
        for hour in 0..6i64 {
            let word = if hour == 4 { "outage" } else { "bill" };
            for _ in 0..2 {
                n += 1;
                let mut a = about("larkspur", None, Label::Negative);
                a.phrases = phrase(word);
                let h = heard(n, T0 + hour * 3_600 + 100, n as u64, vec![a]);
                out.extend(m.observe_heard(&h, |_| "q".into()));
            }
        }
        // A late message in the fifth hour: a correction.
        let mut a = about("larkspur", None, Label::Negative);
        a.phrases = phrase("outage");
        out.extend(m.observe_heard(&heard(99, T0 + 4 * 3_600 + 20, 99, vec![a]), |_| "q".into()));
        out.extend(m.observe_heard(&heard(100, T0 + 7 * 3_600, 100, vec![]), |_| "q".into()));
        let fifth: Vec<(u32, Vec<themes::Status>)> = trends(out)
            .into_iter()
            .filter(|t| t.dimension == Dimension::Brand && t.window.start == time(T0 + 4 * 3_600))
            .map(|t| (t.revision, t.themes.iter().map(|x| x.status).collect()))
            .collect();
        assert_eq!(
            fifth,
            vec![
                (0, vec![themes::Status::New]),
                (1, vec![themes::Status::New])
            ]
        );
    }

    #[test]
    fn products_and_lines_get_windows_of_their_own() {
        let mut m = Market::new(hourly());
        m.observe_heard(
            &heard(
                1,
                T0,
                1,
                vec![about("larkspur", Some("larkspur-fiber"), Label::Negative)],
            ),
            |_| "q".into(),
        );
        let out = trends(m.finish());
        let keys: Vec<(Dimension, &str)> =
            out.iter().map(|t| (t.dimension, t.key.as_str())).collect();
        assert!(keys.contains(&(Dimension::Brand, "larkspur")));
        assert!(keys.contains(&(Dimension::Product, "larkspur-fiber")));
        assert!(keys.contains(&(Dimension::Line, "larkspur/home")));
        assert!(out.iter().all(|t| t.brand == "larkspur"));
    }

    /// Volume, unique customers, negative and positive messages, share of voice (in millionths),
    /// themes with their quotes.
    type Sums = (u32, u32, u32, u32, u64, String);

    /// The last revision of every window, as a reader keeps them.
    fn finals(out: Vec<Output>) -> BTreeMap<Uuid, Sums> {
        let mut last: BTreeMap<Uuid, (u32, Sums)> = BTreeMap::new();
        for t in trends(out) {
            let sov = (t.share_of_voice.unwrap_or(0.0) * 1e6).round() as u64;
            let v = (
                t.volume,
                t.unique_customers,
                t.sentiment.negative,
                t.sentiment.positive,
                sov,
                // A theme's status is a verdict at the window's close, on what it held then: it is
                // not compared.
                serde_json::to_string(
                    &t.themes
                        .iter()
                        .map(|x| (&x.key, x.count, &x.quotes))
                        .collect::<Vec<_>>(),
                )
                .unwrap_or_default(),
            );
            let e = last.entry(t.window_id).or_insert((t.revision, v.clone()));
            if t.revision >= e.0 {
                *e = (t.revision, v);
            }
        }
        last.into_iter().map(|(k, (_, v))| (k, v)).collect()
    }

    #[test]
    fn arrival_order_within_the_lateness_does_not_change_the_result() {
        let mut stream = Vec::new();
        let mut state = 7u64;
        for n in 0..600u128 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let at = T0 + (n as i64) * 30;
            let brand = ["larkspur", "corvid", "skylane"][(state >> 40) as usize % 3];
            let label =
                [Label::Negative, Label::Neutral, Label::Positive][(state >> 20) as usize % 3];
            let mut a = about(brand, None, label);
            if label == Label::Negative {
                // A complaint theme whose quotes a window picks among its messages.
                a.phrases = Some(std::sync::Arc::new(heard::Phrases {
                    kind: heard::ThemeKind::Complaint,
                    grams: vec![heard::Gram {
                        key: "bill".into(),
                        label: "bill".into(),
                    }],
                    quote: format!("quote {n}"),
                }));
            }
            stream.push(heard(n, at, (state >> 50) % 40, vec![a]));
        }
        let policy = Policy {
            allowed_lateness_seconds: 3 * 3_600,
            ..hourly()
        };
        let run = |s: &[Heard]| {
            let mut m = Market::new(policy.clone());
            let mut out = Vec::new();
            for h in s {
                out.extend(m.observe_heard(h, |_| "q".into()));
            }
            out.extend(m.finish());
            assert_eq!(m.too_late(), 0);
            let corrections = trends(out.clone())
                .iter()
                .filter(|t| t.revision > 0)
                .count();
            (finals(out), corrections)
        };
        let (in_order, none) = run(&stream);
        assert_eq!(none, 0);
        // Each message delayed by up to 2 hours: out of order, some brands' windows born after
        // their hour closed, all within the lateness.
        let mut shuffled: Vec<(i64, Heard)> = stream
            .iter()
            .map(|h| {
                let delay = (h.insight.as_u128() as i64 * 7919) % 7_200;
                (h.at.timestamp() + delay, h.clone())
            })
            .collect();
        shuffled.sort_by_key(|(t, h)| (*t, h.insight));
        let shuffled: Vec<Heard> = shuffled.into_iter().map(|(_, h)| h).collect();
        assert_ne!(stream, shuffled);
        let (late, corrections) = run(&shuffled);
        assert!(corrections > 10, "{corrections}");
        assert_eq!(in_order, late);
        assert!(in_order.len() > 10);
    }

    #[test]
    fn a_policy_with_sizes_a_day_cannot_be_cut_into_is_refused() {
        let p = |sizes: Vec<u32>| Policy {
            window_seconds: sizes,
            ..Policy::default()
        };
        assert!(p(vec![300, 3_600, 86_400, 7 * 86_400]).check().is_ok());
        assert!(p(vec![]).check().is_err());
        assert!(p(vec![7_000]).check().is_err());
        assert!(p(vec![30]).check().is_err());
        assert!(p(vec![3_600, 3_600]).check().is_err());
        let mut q = p(vec![3_600]);
        q.alerts.window_seconds = Some(300);
        assert!(q.check().is_err());
    }
}
