//! A customer's state as the store and the changelog hold it (format 2 of [`super::codec`]): every
//! quote once.
//!
//! A message is evidence in several places at once (the latest messages, a problem's, the praise,
//! the talk of leaving, a hard moment), and its quote (up to 200 bytes) was most of a state's
//! bytes, written two to three times over. Here the quotes are a table at the front and each piece
//! of evidence names its quote by index: less to write, read and check as UTF-8 per record. The
//! state in memory is unchanged ([`CustomerState`]).

use std::borrow::Cow;
use std::sync::Arc;

use compact_str::CompactString;
use litemap::LiteMap;

use super::set::Set;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::state::{
    BrandSeen, CustomerState, LiveContext, Name, PhaseAt, Problem, Raised, Ref, Trend,
};
use crate::interaction::{Constituency, Segment};

/// A piece of evidence whose quote is in the table.
#[derive(Serialize, Deserialize)]
struct StoredRef<'a> {
    insight_id: Uuid,
    #[serde(with = "super::codec::stamp")]
    at: DateTime<Utc>,
    #[serde(borrow)]
    channel: Cow<'a, str>,
    quote: u32,
}

#[derive(Serialize)]
struct ProblemOut<'a> {
    products: &'a Set<Name>,
    lines: &'a Set<Name>,
    #[serde(with = "super::codec::stamp")]
    opened_at: DateTime<Utc>,
    #[serde(with = "super::codec::stamp")]
    last_at: DateTime<Utc>,
    channels: &'a Set<Name>,
    refs: Vec<StoredRef<'a>>,
    open: bool,
}

#[derive(Deserialize)]
struct ProblemIn<'a> {
    products: Set<Name>,
    lines: Set<Name>,
    #[serde(with = "super::codec::stamp")]
    opened_at: DateTime<Utc>,
    #[serde(with = "super::codec::stamp")]
    last_at: DateTime<Utc>,
    channels: Set<Name>,
    #[serde(borrow)]
    refs: Vec<StoredRef<'a>>,
    open: bool,
}

#[derive(Serialize, Deserialize)]
struct StoredContext<'a> {
    #[serde(borrow)]
    label: Cow<'a, str>,
    #[serde(with = "super::codec::stamp")]
    since: DateTime<Utc>,
    #[serde(with = "super::codec::stamp")]
    until: DateTime<Utc>,
    #[serde(borrow)]
    evidence: StoredRef<'a>,
}

/// [`CustomerState`] with its quotes in a table, written from a borrowed state. [`StateIn`] reads
/// the same fields in the same order (the round-trip tests hold them together).
#[derive(Serialize)]
struct StateOut<'a> {
    quotes: Vec<&'a str>,
    key: &'a str,
    accounts: &'a Set<Name>,
    #[serde(with = "super::codec::stamp::option")]
    first_seen: Option<DateTime<Utc>>,
    #[serde(with = "super::codec::stamp::option")]
    last_seen: Option<DateTime<Utc>>,
    interactions: u64,
    channels: &'a LiteMap<Name, u32>,
    lines: &'a Set<Name>,
    products: &'a Set<Name>,
    brands: &'a LiteMap<Name, BrandSeen>,
    phases: &'a [PhaseAt],
    sentiment: &'a Trend,
    effort: &'a Trend,
    problems: Vec<ProblemOut<'a>>,
    contexts: Vec<StoredContext<'a>>,
    praise: Vec<StoredRef<'a>>,
    leaving: Option<StoredRef<'a>>,
    switching_to: &'a Option<Name>,
    segment: Option<Segment>,
    value_tier: &'a Option<Name>,
    constituency: Option<Constituency>,
    evidence: Vec<StoredRef<'a>>,
    seen: &'a [Uuid],
    raised: &'a LiteMap<Name, Raised>,
}

#[derive(Deserialize)]
struct StateIn<'a> {
    // Borrowed from the bytes (a `Cow` inside a `Vec` would be read owned, then copied again).
    #[serde(borrow)]
    quotes: Vec<&'a str>,
    key: String,
    accounts: Set<Name>,
    #[serde(with = "super::codec::stamp::option")]
    first_seen: Option<DateTime<Utc>>,
    #[serde(with = "super::codec::stamp::option")]
    last_seen: Option<DateTime<Utc>>,
    interactions: u64,
    #[serde(deserialize_with = "super::cautious::lite_map")]
    channels: LiteMap<Name, u32>,
    lines: Set<Name>,
    products: Set<Name>,
    #[serde(deserialize_with = "super::cautious::lite_map")]
    brands: LiteMap<Name, BrandSeen>,
    phases: Vec<PhaseAt>,
    sentiment: Trend,
    effort: Trend,
    #[serde(borrow)]
    problems: Vec<ProblemIn<'a>>,
    #[serde(borrow)]
    contexts: Vec<StoredContext<'a>>,
    #[serde(borrow)]
    praise: Vec<StoredRef<'a>>,
    #[serde(borrow)]
    leaving: Option<StoredRef<'a>>,
    switching_to: Option<Name>,
    segment: Option<Segment>,
    value_tier: Option<Name>,
    constituency: Option<Constituency>,
    #[serde(borrow)]
    evidence: Vec<StoredRef<'a>>,
    seen: Vec<Uuid>,
    #[serde(deserialize_with = "super::cautious::lite_map")]
    raised: LiteMap<Name, Raised>,
}

/// Why a stored state does not read back.
#[derive(Debug, thiserror::Error)]
pub enum StoredError {
    #[error("{0}")]
    Postcard(#[from] postcard::Error),
    #[error("evidence names quote {0} of a table of {1}")]
    NoSuchQuote(u32, usize),
}

/// The quote table being written: each insight's quote once, in order of first use.
#[derive(Default)]
struct Table<'a> {
    ids: Vec<Uuid>,
    quotes: Vec<&'a str>,
}

impl<'a> Table<'a> {
    fn put(&mut self, r: &'a Ref) -> StoredRef<'a> {
        // A state holds a few dozen pieces of evidence at most: a scan beats hashing. The same
        // insight has the same quote; were it ever not so, the other quote gets its own entry.
        let found = self
            .ids
            .iter()
            .zip(&self.quotes)
            .position(|(id, q)| *id == r.insight_id && *q == &*r.quote);
        let quote = found.unwrap_or_else(|| {
            self.ids.push(r.insight_id);
            self.quotes.push(&r.quote);
            self.quotes.len() - 1
        });
        StoredRef {
            insight_id: r.insight_id,
            at: r.at,
            channel: Cow::Borrowed(&r.channel),
            quote: quote as u32,
        }
    }
}

/// Appends `state` in format 2 to `out` (after the caller's format byte).
pub(super) fn write(state: &CustomerState, out: &mut Vec<u8>) -> Result<(), postcard::Error> {
    let mut t = Table::default();
    let problems = state
        .problems
        .iter()
        .map(|p| ProblemOut {
            products: &p.products,
            lines: &p.lines,
            opened_at: p.opened_at,
            last_at: p.last_at,
            channels: &p.channels,
            refs: p.refs.iter().map(|r| t.put(r)).collect(),
            open: p.open,
        })
        .collect();
    let contexts = state
        .contexts
        .iter()
        .map(|c| StoredContext {
            label: Cow::Borrowed(&c.label),
            since: c.since,
            until: c.until,
            evidence: t.put(&c.evidence),
        })
        .collect();
    let praise = state.praise.iter().map(|r| t.put(r)).collect();
    let leaving = state.leaving.as_ref().map(|r| t.put(r));
    let evidence = state.evidence.iter().map(|r| t.put(r)).collect();
    let s = StateOut {
        quotes: t.quotes,
        key: &state.key,
        accounts: &state.accounts,
        first_seen: state.first_seen,
        last_seen: state.last_seen,
        interactions: state.interactions,
        channels: &state.channels,
        lines: &state.lines,
        products: &state.products,
        brands: &state.brands,
        phases: &state.phases,
        sentiment: &state.sentiment,
        effort: &state.effort,
        problems,
        contexts,
        praise,
        leaving,
        switching_to: &state.switching_to,
        segment: state.segment,
        value_tier: &state.value_tier,
        constituency: state.constituency,
        evidence,
        seen: &state.seen,
        raised: &state.raised,
    };
    postcard::to_io(&s, out).map(|_| ())
}

/// Reads a state written by [`write`] (without the format byte).
pub(super) fn read(bytes: &[u8]) -> Result<CustomerState, StoredError> {
    let s: StateIn<'_> = postcard::from_bytes(bytes)?;
    // Each quote once in memory too, shared by the evidence that cites it.
    let quotes: Vec<Arc<str>> = s.quotes.iter().map(|q| Arc::from(*q)).collect();
    let r = |r: StoredRef<'_>| -> Result<Ref, StoredError> {
        let quote = quotes
            .get(r.quote as usize)
            .ok_or(StoredError::NoSuchQuote(r.quote, quotes.len()))?;
        Ok(Ref {
            insight_id: r.insight_id,
            at: r.at,
            channel: CompactString::from(r.channel),
            quote: Arc::clone(quote),
        })
    };
    let refs = |v: Vec<StoredRef<'_>>| v.into_iter().map(r).collect::<Result<Vec<_>, _>>();
    Ok(CustomerState {
        key: s.key,
        accounts: s.accounts,
        first_seen: s.first_seen,
        last_seen: s.last_seen,
        interactions: s.interactions,
        channels: s.channels,
        lines: s.lines,
        products: s.products,
        brands: s.brands,
        phases: s.phases,
        sentiment: s.sentiment,
        effort: s.effort,
        problems: s
            .problems
            .into_iter()
            .map(|p| {
                Ok(Problem {
                    products: p.products,
                    lines: p.lines,
                    opened_at: p.opened_at,
                    last_at: p.last_at,
                    channels: p.channels,
                    refs: refs(p.refs)?,
                    open: p.open,
                })
            })
            .collect::<Result<_, StoredError>>()?,
        contexts: s
            .contexts
            .into_iter()
            .map(|c| {
                Ok(LiveContext {
                    label: Name::from(c.label),
                    since: c.since,
                    until: c.until,
                    evidence: r(c.evidence)?,
                })
            })
            .collect::<Result<_, StoredError>>()?,
        praise: refs(s.praise)?,
        leaving: s.leaving.map(r).transpose()?,
        switching_to: s.switching_to,
        segment: s.segment,
        value_tier: s.value_tier,
        constituency: s.constituency,
        evidence: refs(s.evidence)?,
        seen: s.seen,
        raised: s.raised,
    })
}
