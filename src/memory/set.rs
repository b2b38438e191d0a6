//! A small ordered set: a sorted `Vec`.
//!
//! A customer's state holds a dozen sets of a few names each (accounts, lines, products, a
//! problem's channels, ...). A `BTreeSet` puts each in a node of eleven slots (about 280 bytes for
//! strings), so a decoded state was mostly empty node memory, allocated and freed on every record
//! of the memory stage. Here a set of three names is three strings in one exact allocation. It
//! reads and writes as a sequence, in order, as a `BTreeSet` does, so the stored bytes are the
//! same.

use serde::{Deserialize, Deserializer, Serialize};

/// A set kept as a sorted, deduplicated `Vec`: for the few elements a customer's state holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Set<T: Ord>(Vec<T>);

impl<T: Ord> Default for Set<T> {
    fn default() -> Self {
        Set(Vec::new())
    }
}

impl<T: Ord> Set<T> {
    pub fn new() -> Self {
        Set::default()
    }

    /// Adds `item`; whether it was new.
    pub fn insert(&mut self, item: T) -> bool {
        match self.0.binary_search(&item) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, item);
                true
            }
        }
    }

    pub fn contains<Q>(&self, item: &Q) -> bool
    where
        T: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.binary_search_by(|x| x.borrow().cmp(item)).is_ok()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// In order.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }

    /// Whether no element is in both.
    pub fn is_disjoint(&self, other: &Set<T>) -> bool {
        !self.0.iter().any(|x| other.contains(x))
    }
}

impl<T: Ord> Extend<T> for Set<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, items: I) {
        for x in items {
            self.insert(x);
        }
    }
}

impl<T: Ord> FromIterator<T> for Set<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut v: Vec<T> = items.into_iter().collect();
        v.sort();
        v.dedup();
        Set(v)
    }
}

impl<T: Ord, const N: usize> From<[T; N]> for Set<T> {
    fn from(items: [T; N]) -> Self {
        items.into_iter().collect()
    }
}

impl<T: Ord> IntoIterator for Set<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, T: Ord> IntoIterator for &'a Set<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Read as any sequence: sorted and deduplicated here, so a set is a set whatever wrote it.
impl<'de, T: Ord + Deserialize<'de>> Deserialize<'de> for Set<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<T>::deserialize(d)?;
        if v.windows(2).all(|w| w[0] < w[1]) {
            Ok(Set(v))
        } else {
            Ok(v.into_iter().collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn it_is_a_set_in_order_and_stores_as_a_btreeset_does() {
        let mut s = Set::new();
        assert!(s.insert("b".to_string()));
        assert!(s.insert("a".to_string()));
        assert!(!s.insert("b".to_string()));
        s.extend(["c".to_string(), "a".to_string()]);
        assert_eq!(s.iter().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(s.contains("c") && !s.contains("d"));
        assert!(!s.is_disjoint(&Set::from(["c".to_string()])));
        assert!(s.is_disjoint(&Set::from(["d".to_string()])));

        let b: BTreeSet<String> = ["a", "b", "c"].iter().map(|x| x.to_string()).collect();
        assert_eq!(
            postcard::to_stdvec(&s).unwrap(),
            postcard::to_stdvec(&b).unwrap()
        );
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"["a","b","c"]"#);
        // Out of order or twice, as no writer of ours does: still a set.
        let back: Set<String> = serde_json::from_str(r#"["c","a","c"]"#).unwrap();
        assert_eq!(back.iter().collect::<Vec<_>>(), ["a", "c"]);
    }
}
