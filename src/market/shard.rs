//! The market view split by brand, as a Kafka stage runs it: what the router sends, and what one
//! partition of the brand-keyed topic keeps.
//!
//! ```text
//! insight (partition q, offset o) ──route──▶ one Reading per brand it is about, keyed by brand
//! Reading ──▶ the Shard of the brand's partition ──▶ that brand's Market ──▶ trends, alerts
//! brand trend (volume) ──▶ every other brand's Market (Market::share): share of voice
//! ```
//!
//! Each brand has a [`Market`] of its own (its windows of every key, theme histories, alert
//! series), stored as one value; a partition's event time (its watermark) is the latest message of
//! any of its brands, as a Kafka Streams task's stream time is. A market per brand gives the same
//! windows, themes and alerts as one market over the whole stream — they only ever read one brand —
//! but for share of voice, which needs every brand of a window: each brand window's volume goes to
//! every other brand's market, which emits its own windows of that time again when it changed.
//!
//! **Counted once.** A brand's state keeps, per partition of the insight topic, the offset of the
//! last insight it took: the router reads a partition in order, so a reading at or below it is a
//! redelivery (of the brand-keyed topic after a restore, or of the insight topic after the router
//! died before its commit) and changes nothing. The state and that offset are one value, written
//! together.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::heard::{self, Heard, Stems};
use super::{Dimension, Market, Output, Policy};
use crate::insight::Insight;

/// The format byte in front of every value this module writes.
pub const FORMAT: u8 = 1;

/// The key of a partition's clock in its store and changelog (brands are `b/<brand>`).
pub const CLOCK: &str = "clock";

/// The key of the insight topic a partition's state was built from: the offsets its brands
/// remember are that topic's.
pub const SOURCE: &str = "source";

/// A value that does not read.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("empty value")]
    Empty,
    #[error("format {0} is not known (this build reads format {FORMAT})")]
    Format(u8),
    #[error("{0}")]
    Postcard(#[from] postcard::Error),
    #[error("key {0:?} is neither the clock, the source nor a brand")]
    Key(String),
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    // Written after the format byte, not into a vector of its own and copied.
    Ok(postcard::to_extend(value, vec![FORMAT])?)
}

fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, CodecError> {
    match bytes.split_first() {
        None => Err(CodecError::Empty),
        Some((&FORMAT, rest)) => Ok(postcard::from_bytes(rest)?),
        Some((&f, _)) => Err(CodecError::Format(f)),
    }
}

/// One message about one brand: the value of the brand-keyed topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// The insight's partition and offset in the insight topic.
    pub source: (i32, i64),
    /// The message, with only this brand's readings.
    pub heard: Heard,
    /// The quote of each reading, by the byte offset of its mention.
    pub quotes: Vec<(usize, String)>,
}

impl Reading {
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        encode(self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Reading, CodecError> {
        decode(bytes)
    }
}

/// What an insight read at `source` tells each brand it is about: (brand, its reading), brands in
/// the order first mentioned.
pub fn route(insight: &Insight, source: (i32, i64), stems: &mut Stems) -> Vec<(String, Reading)> {
    let h = Heard::of(insight, stems);
    let mut out: Vec<(String, Reading)> = Vec::new();
    for a in &h.about {
        let quote = (a.at, heard::shorten(heard::sentence(&insight.text, a.at)));
        if let Some((_, r)) = out.iter_mut().find(|(b, _)| *b == a.brand) {
            r.heard.about.push(a.clone());
            r.quotes.push(quote);
            continue;
        }
        let mut one = Heard {
            about: Vec::new(),
            ..h.clone()
        };
        one.about.push(a.clone());
        out.push((
            a.brand.clone(),
            Reading {
                source,
                heard: one,
                quotes: vec![quote],
            },
        ));
    }
    out
}

/// One brand's market and the last insight offset it took per insight partition.
#[derive(Serialize, Deserialize)]
struct BrandState {
    market: Market,
    applied: BTreeMap<i32, i64>,
}

/// Brand volumes as their markets emitted them: (size, start) → brand → volume. Every instance
/// of a stage keeps the whole table (it is small: one number per brand and open window).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Volumes(BTreeMap<(u32, i64), BTreeMap<String, u32>>);

impl Volumes {
    /// Records a volume; false when it was already known.
    pub fn set(&mut self, size: u32, start: i64, brand: &str, volume: u32) -> bool {
        let slot = self.0.entry((size, start)).or_default();
        if slot.get(brand) == Some(&volume) {
            return false;
        }
        slot.insert(brand.to_string(), volume);
        true
    }

    /// Forgets windows that ended before `before` (seconds since the epoch).
    pub fn prune(&mut self, before: i64) {
        self.0
            .retain(|&(size, start), _| start.saturating_add(i64::from(size)) >= before);
    }

    pub fn len(&self) -> usize {
        self.0.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A brand's volume of a window, if known.
    pub fn get(&self, size: u32, start: i64, brand: &str) -> Option<u32> {
        self.0
            .get(&(size, start))
            .and_then(|m| m.get(brand))
            .copied()
    }

    /// Every volume: (size, start, brand, volume).
    pub fn each(&self) -> impl Iterator<Item = (u32, i64, &str, u32)> + '_ {
        self.0
            .iter()
            .flat_map(|(&(s, t), m)| m.iter().map(move |(b, &v)| (s, t, b.as_str(), v)))
    }
}

/// A brand volume a trend makes known: (size, start, brand, volume) of a brand window's emission.
pub fn volume_of(o: &Output) -> Option<(u32, i64, &str, u32)> {
    match o {
        Output::Trend(t) if t.dimension == Dimension::Brand => Some((
            t.window.size_seconds,
            t.window.start.timestamp(),
            t.brand.as_str(),
            t.volume,
        )),
        _ => None,
    }
}

/// What [`Shard::observe`] did with a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// Folded in.
    Applied,
    /// Taken before (a redelivery): nothing changed.
    Duplicate,
}

/// The market view of one partition of the brand-keyed topic.
pub struct Shard {
    policy: Policy,
    /// The latest event time of the partition (seconds), its watermark's base.
    latest: Option<i64>,
    brands: BTreeMap<String, BrandState>,
    /// Brands whose state changed since [`Shard::changes`], and whether the clock did.
    dirty: BTreeSet<String>,
    clock_dirty: bool,
    /// The insight topic the state was built from, once known.
    source: Option<String>,
    source_dirty: bool,
}

impl std::fmt::Debug for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shard")
            .field("brands", &self.brands.len())
            .field("latest", &self.latest)
            .finish()
    }
}

fn brand_key(brand: &str) -> String {
    format!("b/{brand}")
}

impl Shard {
    pub fn new(policy: Policy) -> Shard {
        Shard {
            policy,
            latest: None,
            brands: BTreeMap::new(),
            dirty: BTreeSet::new(),
            clock_dirty: false,
            source: None,
            source_dirty: false,
        }
    }

    /// The insight topic the state was built from, if it says (a state written before it did
    /// does not).
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// Records the insight topic the state is built from (written with the next changes).
    pub fn set_source(&mut self, topic: &str) {
        if self.source.as_deref() != Some(topic) {
            self.source = Some(topic.to_string());
            self.source_dirty = true;
        }
    }

    /// The brands held, by name.
    pub fn brand_names(&self) -> impl Iterator<Item = &str> {
        self.brands.keys().map(String::as_str)
    }

    /// Brands held.
    pub fn brands(&self) -> usize {
        self.brands.len()
    }

    /// Open windows of every brand.
    pub fn open_windows(&self) -> usize {
        self.brands.values().map(|b| b.market.open_windows()).sum()
    }

    /// Messages too late for some of their windows, over the brands.
    pub fn too_late(&self) -> u64 {
        self.brands.values().map(|b| b.market.too_late()).sum()
    }

    /// The latest event time seen (seconds since the epoch).
    pub fn latest(&self) -> Option<i64> {
        self.latest
    }

    fn mark(&self) -> i64 {
        self.latest.map_or(i64::MIN, |l| {
            l.saturating_sub(i64::from(self.policy.watermark_delay_seconds))
        })
    }

    /// Reads back one stored value (a store or changelog record).
    pub fn restore(&mut self, key: &str, value: &[u8]) -> Result<(), CodecError> {
        if key == CLOCK {
            let latest: Option<i64> = decode(value)?;
            self.latest = self.latest.max(latest);
            return Ok(());
        }
        if key == SOURCE {
            self.source = decode(value)?;
            return Ok(());
        }
        let Some(brand) = key.strip_prefix("b/") else {
            return Err(CodecError::Key(key.to_string()));
        };
        let mut state: BrandState = decode(value)?;
        state.market.configure(self.policy.clone());
        self.brands.insert(brand.to_string(), state);
        Ok(())
    }

    /// Folds in a reading of `brand`; `volumes`: what the other brands' markets emitted, for a
    /// brand first heard here.
    pub fn observe(&mut self, brand: &str, r: &Reading, volumes: &Volumes) -> (Taken, Vec<Output>) {
        let (partition, offset) = r.source;
        let mark = self.mark();
        let policy = &self.policy;
        let state = self.brands.entry(brand.to_string()).or_insert_with(|| {
            let mut market = Market::new(policy.clone());
            // Its own brand's volumes (emitted before a restart that lost them) are its own to
            // count again.
            for (size, start, b, v) in volumes.each().filter(|v| v.2 != brand) {
                // A market with no window yet has nothing to emit again.
                let _ = market.share(size, start, b, v);
            }
            BrandState {
                market,
                applied: BTreeMap::new(),
            }
        });
        if state.applied.get(&partition).is_some_and(|&o| o >= offset) {
            return (Taken::Duplicate, Vec::new());
        }
        state.applied.insert(partition, offset);
        // The partition's watermark first, as one market over the partition would have it.
        let mut out = state.market.advance(mark);
        let quotes = &r.quotes;
        out.extend(state.market.observe_heard(&r.heard, |at| {
            quotes
                .iter()
                .find(|(a, _)| *a == at)
                .map(|(_, q)| q.clone())
                .unwrap_or_default()
        }));
        self.dirty.insert(brand.to_string());
        let t = r.heard.at.timestamp();
        if self.latest.is_none_or(|l| t > l) {
            self.latest = Some(t);
            self.clock_dirty = true;
        }
        (Taken::Applied, out)
    }

    /// A brand volume emitted by `brand`'s market (anywhere): every other brand's market here
    /// takes it for its share of voice. The corrections it makes due go out with the next
    /// [`Shard::advance`] or [`Shard::idle`] (see [`Market::share`]).
    pub fn share(&mut self, size: u32, start: i64, brand: &str, volume: u32) {
        for (b, state) in self.brands.iter_mut().filter(|(b, _)| b.as_str() != brand) {
            if state.market.share(size, start, brand, volume) {
                self.dirty.insert(b.clone());
            }
        }
    }

    /// Moves every brand's watermark to the partition's: windows of brands that have not spoken
    /// since close too.
    pub fn advance(&mut self) -> Vec<Output> {
        let mark = self.mark();
        let mut out = Vec::new();
        for (b, state) in &mut self.brands {
            let o = state.market.advance(mark);
            if !o.is_empty() {
                self.dirty.insert(b.clone());
                out.extend(o);
            }
        }
        out
    }

    /// A partition that has heard nothing for a while: the windows of every brand that end by
    /// `now` (seconds since the epoch, less the watermark's delay) close, as event time would
    /// have moved on a live stream. The watermark stays: nothing leaves and nothing becomes too
    /// late, so a replay of old messages that pauses gets its windows closed, not dropped — they
    /// still take late messages and the other brands' volumes.
    pub fn idle(&mut self, now: i64) -> Vec<Output> {
        let mark = now.saturating_sub(i64::from(self.policy.watermark_delay_seconds));
        let mut out = Vec::new();
        for (b, state) in &mut self.brands {
            let o = state.market.close_until(mark);
            if !o.is_empty() {
                self.dirty.insert(b.clone());
                out.extend(o);
            }
        }
        out
    }

    /// The values changed since the last call, encoded: (store key, value).
    pub fn changes(&mut self) -> Result<Vec<(String, Vec<u8>)>, CodecError> {
        let mut out = Vec::with_capacity(self.dirty.len() + 1);
        if std::mem::take(&mut self.clock_dirty) {
            out.push((CLOCK.to_string(), encode(&self.latest)?));
        }
        if std::mem::take(&mut self.source_dirty) {
            out.push((SOURCE.to_string(), encode(&self.source)?));
        }
        for b in std::mem::take(&mut self.dirty) {
            if let Some(state) = self.brands.get(&b) {
                out.push((brand_key(&b), encode(state)?));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::eval;
    use super::*;
    use std::collections::VecDeque;
    use uuid::Uuid;

    /// The last revision of each window (but its revision number and id) and every alert.
    fn finals(out: &[Output]) -> (BTreeMap<Uuid, String>, BTreeSet<String>) {
        let mut last: BTreeMap<Uuid, (u32, String)> = BTreeMap::new();
        let mut alerts = BTreeSet::new();
        for o in out {
            match o {
                Output::Trend(t) => {
                    let mut t = (**t).clone();
                    let rev = t.revision;
                    t.revision = 0;
                    t.id = Uuid::nil();
                    let text = serde_json::to_string(&t).unwrap_or_default();
                    let e = last.entry(t.window_id).or_insert((rev, text.clone()));
                    if rev >= e.0 {
                        *e = (rev, text);
                    }
                }
                Output::Alert(a) => {
                    let mut a = (**a).clone();
                    a.id = Uuid::nil();
                    alerts.insert(serde_json::to_string(&a).unwrap_or_default());
                }
            }
        }
        (last.into_iter().map(|(k, (_, v))| (k, v)).collect(), alerts)
    }

    /// Runs a stream through `n` shards, brands spread by hash, volumes passed along as a stage
    /// passes them (through a queue, a few readings late), every value stored and read back.
    fn sharded(stream: &[Heard], n: i32, policy: &Policy) -> Vec<Output> {
        let mut shards: Vec<Shard> = (0..n).map(|_| Shard::new(policy.clone())).collect();
        let mut volumes = Volumes::default();
        let mut queue: VecDeque<(u32, i64, String, u32)> = VecDeque::new();
        let mut out = Vec::new();
        let publish = |o: &[Output], queue: &mut VecDeque<_>| {
            for x in o {
                if let Some((s, t, b, v)) = volume_of(x) {
                    queue.push_back((s, t, b.to_string(), v));
                }
            }
        };
        for (offset, h) in stream.iter().enumerate() {
            let mut by_brand: Vec<(String, Reading)> = Vec::new();
            for a in &h.about {
                match by_brand.iter_mut().find(|(b, _)| *b == a.brand) {
                    Some((_, r)) => r.heard.about.push(a.clone()),
                    None => by_brand.push((
                        a.brand.clone(),
                        Reading {
                            source: (0, offset as i64),
                            heard: Heard {
                                about: vec![a.clone()],
                                ..h.clone()
                            },
                            quotes: Vec::new(),
                        },
                    )),
                }
            }
            for (brand, r) in by_brand {
                let p = crate::polarity::data::id_hash(&brand) % n as u64;
                let shard = &mut shards[p as usize];
                let (taken, o) = shard.observe(&brand, &r, &volumes);
                assert_eq!(taken, Taken::Applied);
                // A redelivery changes nothing.
                assert_eq!(shard.observe(&brand, &r, &volumes).0, Taken::Duplicate);
                publish(&o, &mut queue);
                out.extend(o);
            }
            // Volumes arrive three readings later.
            while queue.len() > 3 {
                let Some((s, t, b, v)) = queue.pop_front() else {
                    break;
                };
                if volumes.set(s, t, &b, v) {
                    for shard in &mut shards {
                        shard.share(s, t, &b, v);
                    }
                }
            }
            // A commit interval's tick, every hundred readings: every brand to its partition's
            // watermark, with the corrections the volumes made due.
            if offset % 100 == 99 {
                for shard in &mut shards {
                    let o = shard.advance();
                    publish(&o, &mut queue);
                    out.extend(o);
                }
            }
            if offset % 5_000 == 2_500 {
                // Stored and read back: a restore changes nothing.
                for shard in &mut shards {
                    shard.dirty = shard.brands.keys().cloned().collect();
                    shard.clock_dirty = true;
                    let mut again = Shard::new(policy.clone());
                    for (k, v) in shard.changes().unwrap() {
                        again.restore(&k, &v).unwrap();
                    }
                    assert_eq!(again.brands(), shard.brands());
                    *shard = again;
                }
            }
        }
        // The end of the stream: every partition idles to the end of time, volumes go round until
        // none changes.
        loop {
            for shard in &mut shards {
                let o = shard.idle(i64::MAX / 2);
                publish(&o, &mut queue);
                out.extend(o);
            }
            let mut changed = false;
            while let Some((s, t, b, v)) = queue.pop_front() {
                if volumes.set(s, t, &b, v) {
                    changed = true;
                    for shard in &mut shards {
                        shard.share(s, t, &b, v);
                    }
                }
            }
            if !changed {
                break;
            }
        }
        out
    }

    #[test]
    fn brands_split_over_shards_give_what_one_market_gives() {
        let (mut stream, _) = eval::generate(11);
        // Eight of its days: three of history, then incidents.
        let end = stream[0].at.timestamp() + 8 * 86_400;
        stream.retain(|h| h.at.timestamp() < end);
        let policy = Policy::default();
        let mut one = Market::new(policy.clone());
        let mut single = Vec::new();
        for h in &stream {
            single.extend(one.observe_heard(h, |_| String::new()));
        }
        single.extend(one.finish());
        let (windows, alerts) = finals(&single);
        assert!(windows.len() > 100, "{}", windows.len());
        assert!(!alerts.is_empty());
        for n in [1, 3] {
            let split = sharded(&stream, n, &policy);
            // Corrections of share of voice go out once a tick, not once for each other brand's
            // volume: 2.3 times one market's events here, where they were 4.1 times.
            assert!(
                split.len() < single.len() * 5 / 2,
                "{n} shards: {} events, one market {}",
                split.len(),
                single.len()
            );
            let (w, a) = finals(&split);
            assert_eq!(w.len(), windows.len(), "{n} shards");
            for (id, t) in &windows {
                assert_eq!(w.get(id), Some(t), "{n} shards, window {id}");
            }
            assert_eq!(a, alerts, "{n} shards");
        }
    }

    #[test]
    fn a_reading_survives_its_encoding() {
        let (stream, _) = eval::generate(3);
        let r = Reading {
            source: (2, 77),
            heard: stream[0].clone(),
            quotes: vec![(4, "a quote".into())],
        };
        let bytes = r.encode().unwrap();
        assert_eq!(Reading::decode(&bytes).unwrap(), r);
        assert!(matches!(
            Reading::decode(&[9, 1, 2]),
            Err(CodecError::Format(9))
        ));
        assert!(matches!(Reading::decode(&[]), Err(CodecError::Empty)));
    }
}
