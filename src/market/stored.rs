//! A market's stored form (serde): each message's theme phrases once, however many windows keep
//! them (the hour and the day, the brand and its product), the windows naming them by index.
//! Stored whole in every window, the phrases were most of a brand's state, four times over.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use super::heard::{Phrases, Stems};
use super::themes::{Doc, History};
use super::window::Aggregate;
use super::{alerts, Dimension, Keys, Market, Place, Policy};

/// A window's docs: (insight, index of its phrases).
type Docs = Vec<(Place, Vec<(Uuid, u32)>)>;

#[derive(Serialize)]
struct StoredRef<'a> {
    phrases: Vec<&'a Phrases>,
    docs: Docs,
    windows: &'a BTreeMap<Place, Aggregate>,
    keys: &'a Keys,
    dirty: &'a BTreeSet<Place>,
    next_due: i64,
    next_gone: i64,
    latest: Option<i64>,
    watermark: i64,
    closed: i64,
    themes: &'a HashMap<(u32, Dimension, u32), History>,
    alerts: &'a alerts::Detector,
    too_late: u64,
    others: &'a BTreeMap<(u32, i64), BTreeMap<String, u32>>,
}

#[derive(Deserialize)]
struct Stored {
    phrases: Vec<Phrases>,
    docs: Docs,
    windows: BTreeMap<Place, Aggregate>,
    keys: Keys,
    dirty: BTreeSet<Place>,
    next_due: i64,
    next_gone: i64,
    latest: Option<i64>,
    watermark: i64,
    closed: i64,
    themes: HashMap<(u32, Dimension, u32), History>,
    alerts: alerts::Detector,
    too_late: u64,
    others: BTreeMap<(u32, i64), BTreeMap<String, u32>>,
}

impl Serialize for Market {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut index: HashMap<*const Phrases, u32> = HashMap::new();
        let mut phrases: Vec<&Phrases> = Vec::new();
        let mut docs: Docs = Vec::new();
        for (place, a) in &self.windows {
            if a.docs.is_empty() {
                continue;
            }
            let ids = a
                .docs
                .iter()
                .map(|d| {
                    let n = *index.entry(Arc::as_ptr(&d.phrases)).or_insert_with(|| {
                        phrases.push(&d.phrases);
                        (phrases.len() - 1) as u32
                    });
                    (d.insight, n)
                })
                .collect();
            docs.push((*place, ids));
        }
        StoredRef {
            phrases,
            docs,
            windows: &self.windows,
            keys: &self.keys,
            dirty: &self.dirty,
            next_due: self.next_due,
            next_gone: self.next_gone,
            latest: self.latest,
            watermark: self.watermark,
            closed: self.closed,
            themes: &self.themes,
            alerts: &self.alerts,
            too_late: self.too_late,
            others: &self.others,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Market {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Market, D::Error> {
        let st = Stored::deserialize(d)?;
        let phrases: Vec<Arc<Phrases>> = st.phrases.into_iter().map(Arc::new).collect();
        let mut windows = st.windows;
        for (place, ids) in st.docs {
            let Some(a) = windows.get_mut(&place) else {
                return Err(serde::de::Error::custom("docs of a window not stored"));
            };
            a.docs = ids
                .into_iter()
                .map(|(insight, n)| {
                    phrases
                        .get(n as usize)
                        .map(|p| Doc {
                            insight,
                            phrases: Arc::clone(p),
                        })
                        .ok_or_else(|| serde::de::Error::custom("a doc's phrases not stored"))
                })
                .collect::<Result<_, _>>()?;
        }
        Ok(Market {
            policy: Policy::default(),
            stems: Stems::default(),
            windows,
            keys: st.keys,
            dirty: st.dirty,
            next_due: st.next_due,
            next_gone: st.next_gone,
            latest: st.latest,
            watermark: st.watermark,
            closed: st.closed,
            themes: st.themes,
            alerts: st.alerts,
            too_late: st.too_late,
            others: st.others,
        })
    }
}
