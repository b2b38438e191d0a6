//! Reading maps whose stated length is not trusted.
//!
//! A binary record (postcard, as the store and the changelog hold a state) states a map's length
//! before its entries, and `litemap`'s own `Deserialize` reserves room for that many at once: a
//! damaged length byte asked for 143 GB and aborted the process (found by `tests/bytes_fuzz.rs`).
//! These read the same maps the same way, reserving at most [`PREALLOCATED`] entries up front and
//! growing as entries actually arrive, so a damaged record ends in an error when its bytes run out.

use std::fmt;
use std::marker::PhantomData;

use litemap::LiteMap;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Room reserved before any entry is read: more than a customer's channels, brands or raised
/// insight types (the maps read this way) ever hold.
pub const PREALLOCATED: usize = 64;

/// Reads a [`LiteMap`] as `litemap` writes it (a map; a sequence of pairs also reads), with at
/// most [`PREALLOCATED`] entries reserved before they are read. Use with
/// `#[serde(deserialize_with = "...")]`.
pub fn lite_map<'de, D, K, V>(d: D) -> Result<LiteMap<K, V>, D::Error>
where
    D: Deserializer<'de>,
    K: Ord + Deserialize<'de>,
    V: Deserialize<'de>,
{
    if d.is_human_readable() {
        d.deserialize_any(Cautious(PhantomData))
    } else {
        d.deserialize_map(Cautious(PhantomData))
    }
}

struct Cautious<K, V>(PhantomData<(K, V)>);

impl<K: Ord, V> Cautious<K, V> {
    /// A map of the entries in the order read: appended while they come sorted (as a `LiteMap`
    /// writes them), the others inserted at the end. The first error ends the read.
    fn collect<E>(
        hint: Option<usize>,
        mut next: impl FnMut() -> Result<Option<(K, V)>, E>,
    ) -> Result<LiteMap<K, V>, E> {
        let mut map = LiteMap::with_capacity(hint.unwrap_or(0).min(PREALLOCATED));
        let mut out_of_order = Vec::new();
        while let Some((k, v)) = next()? {
            if let Some(kv) = map.try_append(k, v) {
                out_of_order.push(kv);
            }
        }
        if !out_of_order.is_empty() {
            map.extend(out_of_order);
        }
        Ok(map)
    }
}

impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for Cautious<K, V> {
    type Value = LiteMap<K, V>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut access: M) -> Result<Self::Value, M::Error> {
        Self::collect(access.size_hint(), || access.next_entry())
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut access: S) -> Result<Self::Value, S::Error> {
        Self::collect(access.size_hint(), || access.next_element())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        #[serde(deserialize_with = "lite_map")]
        m: LiteMap<String, u32>,
    }

    fn holder(pairs: &[(&str, u32)]) -> Holder {
        Holder {
            m: pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn it_reads_what_litemap_writes_in_both_forms() {
        let h = holder(&[("email", 2), ("twitter", 5)]);
        let bytes = postcard::to_stdvec(&h).unwrap();
        assert_eq!(postcard::from_bytes::<Holder>(&bytes).unwrap(), h);
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, r#"{"m":{"email":2,"twitter":5}}"#);
        assert_eq!(serde_json::from_str::<Holder>(&json).unwrap(), h);
        // Out of order, as no writer of ours does: still a map, in order.
        let back: Holder = serde_json::from_str(r#"{"m":{"twitter":5,"email":2}}"#).unwrap();
        assert_eq!(back, h);
        // Pairs read too, as litemap's own reader takes them.
        let back: Holder = serde_json::from_str(r#"{"m":[["twitter",5],["email",2]]}"#).unwrap();
        assert_eq!(back, h);
    }

    #[test]
    fn a_damaged_length_is_an_error_not_an_allocation() {
        // A map that says it holds 2^40 entries (a varint: seven bits a byte, low first), then
        // ends: litemap's own reader reserves room for all of them first (35 TB here).
        let bytes = [0x80, 0x80, 0x80, 0x80, 0x80, 0x20];
        let err = postcard::from_bytes::<Holder>(&bytes).unwrap_err();
        assert!(
            matches!(err, postcard::Error::DeserializeUnexpectedEnd),
            "{err:?}"
        );
    }
}
