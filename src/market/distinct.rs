//! Distinct customers of a window: exact up to 128, then a HyperLogLog++ sketch (about 1.6% error
//! at 4,096 registers of 6 bits).
//!
//! The sketch is `cardinality-estimator-safe`'s, the fork of Cloudflare's `cardinality-estimator`
//! that keeps its data in plain `Vec`s. The original rebuilt a deserialized array with a capacity of
//! its own and freed it through a `Box` of another size: undefined behaviour on every restore of a
//! window with 3 to 128 customers (harmless only because mimalloc and glibc ignore the size).
//!
//! **Stored as before.** A [`Distinct`] is written in the original's layout, a pair
//! `(data, Option<Vec<u32>>)`, so that changelogs written by earlier builds restore and a build
//! rolled back reads what this one wrote:
//!
//! | representation | `data` | the vector |
//! |---|---|---|
//! | up to two customers | their two encoded hashes, bits 2..33 and 33..64 (tag `0`) | none |
//! | 3 to 128 customers | `1` (the original added its heap pointer; its reader ignores it) | the encoded hashes |
//! | the sketch | `3` (likewise) | zero registers, harmonic sum (f32 bits), then the registers |
//!
//! Both crates encode a customer the same way (`encode_hash` / `Element::from_hashed` of the
//! WyHash of the party hash), so a restored window counts on exactly as it would have.

use cardinality_estimator_safe::{Element, Sketch};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Registers' bits: 4,096 registers of 6 bits (the original's defaults).
const P: usize = 12;
const W: usize = 6;

/// The original's sketch: two header words and the registers, one spare word at the end.
const STORED_HLL_WORDS: usize = (1 << P) * W / 32 + 3;

/// The representation tags of the original's `data` (its two low bits).
const TAG_SMALL: u64 = 0;
const TAG_ARRAY: u64 = 1;
const TAG_HLL: u64 = 3;

/// The most encoded hashes the exact representation holds.
const ARRAY_MAX: usize = 128;

/// A count of distinct customers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Distinct(Sketch<P, W>);

/// The sketch as its serde form reads in postcard (variant index, then the content): how its
/// parts are reached without touching its private types.
#[derive(Serialize, Deserialize)]
enum Parts {
    Small(u64),
    Array(Vec<u32>),
    /// Zero registers, harmonic sum, then the registers (`STORED_HLL_WORDS` of them).
    Hll(Vec<u32>),
}

impl Distinct {
    /// Counts the customer with this party hash.
    pub fn insert(&mut self, customer: u64) {
        self.0
            .insert(Element::from_hasher_default::<wyhash::WyHash>(customer));
    }

    /// How many distinct customers were counted (exact up to 128).
    pub fn estimate(&self) -> usize {
        self.0.estimate()
    }

    /// Heap bytes held (read through the serde form, whose variants are public where the
    /// crate's types are not: for reports, not for a hot path).
    pub fn heap_bytes(&self) -> usize {
        match self.parts() {
            Ok(Parts::Small(_)) | Err(_) => 0,
            Ok(Parts::Array(items)) => items.len().next_power_of_two() * 4,
            // The registers; zeros and sum are held inline.
            Ok(Parts::Hll(words)) => words.len().saturating_sub(2) * 4,
        }
    }

    fn parts(&self) -> Result<Parts, postcard::Error> {
        postcard::from_bytes(&postcard::to_allocvec(&self.0)?)
    }

    fn from_parts(parts: &Parts) -> Result<Distinct, postcard::Error> {
        Ok(Distinct(postcard::from_bytes(&postcard::to_allocvec(
            parts,
        )?)?))
    }

    /// The original's pair: `data` and the vector.
    fn stored(&self) -> Result<(u64, Option<Vec<u32>>), postcard::Error> {
        Ok(match self.parts()? {
            Parts::Small(bits) => (bits, None),
            Parts::Array(items) => (TAG_ARRAY, Some(items)),
            Parts::Hll(mut words) => {
                // Zeros, sum and the registers the original kept; the crate's two spare words
                // (never written) dropped.
                words.truncate(STORED_HLL_WORDS);
                (TAG_HLL, Some(words))
            }
        })
    }

    /// Reads the original's pair, refusing what it would have refused.
    fn from_stored(data: u64, vector: Option<Vec<u32>>) -> Result<Distinct, String> {
        let parts = match (data & 3, vector) {
            (TAG_SMALL, None) => Parts::Small(data),
            (TAG_ARRAY, Some(items)) if (3..=ARRAY_MAX).contains(&items.len()) => {
                Parts::Array(items)
            }
            (TAG_HLL, Some(mut words)) if words.len() == STORED_HLL_WORDS => {
                words.extend([0, 0]);
                Parts::Hll(words)
            }
            (tag, vector) => {
                return Err(format!(
                    "distinct customers: representation {tag} with {} values",
                    vector.map_or(0, |v| v.len())
                ))
            }
        };
        Distinct::from_parts(&parts).map_err(|e| format!("distinct customers: {e}"))
    }
}

impl Serialize for Distinct {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        self.stored()
            .map_err(|e| S::Error::custom(format!("distinct customers: {e}")))?
            .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Distinct {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (data, vector) = <(u64, Option<Vec<u32>>)>::deserialize(deserializer)?;
        Distinct::from_stored(data, vector).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(n: u64) -> Distinct {
        let mut d = Distinct::default();
        for i in 0..n {
            // The customers the fixture's writer counted.
            d.insert(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x1234);
        }
        d
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// Records written by `cardinality-estimator` 1.0.3 (the build before this module) read with
    /// its estimates, count on as a sketch fed the same customers from the start, and are written
    /// back as it wrote them (but for the heap pointer it put in `data`).
    #[test]
    fn reads_and_writes_the_original_layout() {
        let fixture = include_str!("distinct_fixture.txt");
        let mut rows = 0;
        for line in fixture.lines() {
            let mut cols = line.split(' ');
            let (n, estimate, bytes) = match (cols.next(), cols.next(), cols.next()) {
                (Some(n), Some(e), Some(b)) => (
                    n.parse::<u64>().expect("n"),
                    e.parse::<usize>().expect("estimate"),
                    unhex(b),
                ),
                _ => panic!("fixture line {line:?}"),
            };
            let read: Distinct = postcard::from_bytes(&bytes).expect("an old record reads");
            assert_eq!(read.estimate(), estimate, "{n} customers");
            assert_eq!(
                read,
                counted(n),
                "{n} customers: the same sketch as counted now"
            );
            let written = postcard::to_allocvec(&read).expect("encodes");
            let old: (u64, Option<Vec<u32>>) = postcard::from_bytes(&bytes).expect("pair");
            let new: (u64, Option<Vec<u32>>) = postcard::from_bytes(&written).expect("pair");
            assert_eq!(new.1, old.1, "{n} customers: the same values");
            if old.1.is_none() {
                assert_eq!(hex(&written), hex(&bytes), "{n} customers: the same bytes");
            } else {
                assert_eq!(
                    new.0,
                    old.0 & 3,
                    "{n} customers: the tag without the pointer"
                );
            }
            let mut more = read.clone();
            let mut fresh = counted(n);
            for c in 0..50u64 {
                more.insert(c << 40);
                fresh.insert(c << 40);
            }
            assert_eq!(more, fresh, "{n} customers: counts on alike");
            rows += 1;
        }
        assert_eq!(rows, 13);
    }

    #[test]
    fn exact_while_small_then_close() {
        for n in [0u64, 1, 2, 3, 100, 128] {
            assert_eq!(counted(n).estimate() as u64, n);
        }
        let big = counted(50_000).estimate() as f64;
        assert!((big / 50_000.0 - 1.0).abs() < 0.05, "{big}");
        assert_eq!(counted(1_000).heap_bytes(), STORED_HLL_WORDS * 4);
        assert_eq!(counted(5).heap_bytes(), 32);
    }

    #[test]
    fn refuses_what_the_original_refused() {
        for (data, vector) in [
            (0, Some(vec![1, 2, 3])),
            (1, None),
            (1, Some(vec![5, 6])),
            (1, Some(vec![7; 129])),
            (2, Some(vec![1, 2, 3])),
            (3, Some(vec![0; 10])),
        ] {
            let bytes = postcard::to_allocvec(&(data, vector.clone())).expect("encodes");
            let read = postcard::from_bytes::<Distinct>(&bytes);
            assert!(read.is_err(), "{data} {vector:?} read as {read:?}");
        }
    }

    proptest::proptest! {
        /// Any stored pair, and sketches with words changed, read or are refused; what reads
        /// counts on and is written and read again as the same.
        #[test]
        fn damaged_pairs_read_or_are_refused(
            data in proptest::prelude::any::<u64>(),
            tag in 0u64..4,
            vector in proptest::option::of(proptest::collection::vec(
                proptest::prelude::any::<u32>(), 0..140)),
            n in 0u64..600,
            changes in proptest::collection::vec(
                (0usize..STORED_HLL_WORDS, proptest::prelude::any::<u32>()), 0..4),
        ) {
            let (d, v) = counted(n).stored().expect("stored");
            let damaged = v.map(|mut words| {
                for (at, word) in &changes {
                    if let Some(w) = words.get_mut(*at) {
                        *w = *word;
                    }
                }
                words
            });
            for (data, vector) in [((data & !3) | tag, vector), (d, damaged)] {
                if let Ok(mut read) = Distinct::from_stored(data, vector) {
                    for c in 0..200u64 {
                        read.insert(c.wrapping_mul(0x2545_F491_4F6C_DD1D));
                    }
                    let estimate = read.estimate();
                    let bytes = postcard::to_allocvec(&read).expect("encodes");
                    let again: Distinct = postcard::from_bytes(&bytes).expect("reads again");
                    proptest::prop_assert_eq!(again.estimate(), estimate);
                    let _ = read.heap_bytes();
                }
            }
        }
    }
}
