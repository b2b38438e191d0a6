//! The scorer's word table: one lookup per token, so its cost is paid some fifteen times per tweet.
//!
//! Almost every word of a text, and of the lexicon, is at most 15 bytes long. Such a word is
//! packed with its length into one `u128` [`Key`], stored in the table's own slots: a lookup hashes
//! two machine words with no loop over bytes, and a candidate slot is confirmed by comparing two
//! machine words, with no pointer to follow to the key's text and no call to `memcmp`. The slots
//! and the probe are hashbrown's ([`HashTable`]), whose SIMD probe rules most absent words out on
//! control bytes alone. Longer words go to an ordinary map.

use hashbrown::HashTable;
use rustc_hash::FxHashMap;

/// The longest word that is packed into a [`Key`]: the sixteenth byte holds the length.
const SHORT: usize = 15;

/// A word of at most [`SHORT`] bytes: its bytes in order from the lowest, zero after them, and its
/// length in the highest byte (so "ab" and "ab\0" differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    lo: u64,
    hi: u64,
}

/// The bytes of a word of `n` bytes in the 16 read from its start, by `n`: one load, no shift by a
/// variable amount.
const MASKS: [(u64, u64); SHORT + 1] = {
    let mut masks = [(0, 0); SHORT + 1];
    let mut n = 0;
    while n <= SHORT {
        let lo = if n >= 8 { u64::MAX } else { (1 << (8 * n)) - 1 };
        let hi = if n <= 8 { 0 } else { (1 << (8 * (n - 8))) - 1 };
        masks[n] = (lo, hi);
        n += 1;
    }
    masks
};

impl Key {
    /// The word `b[start..end]`, if it is short. Reads the 16 bytes of `b` from `start` when `b`
    /// has them (the bytes after the word are masked off); otherwise copies the word.
    #[inline(always)]
    fn at(b: &[u8], start: usize, end: usize) -> Option<Key> {
        let n = end.checked_sub(start)?;
        let &(mask_lo, mask_hi) = MASKS.get(n)?;
        let bytes = match b.get(start..start + 16).map(<[u8; 16]>::try_from) {
            Some(Ok(chunk)) => u128::from_le_bytes(chunk),
            _ => copied(b.get(start..end)?),
        };
        Some(Key {
            lo: bytes as u64 & mask_lo,
            hi: ((bytes >> 64) as u64 & mask_hi) | (n as u64) << 56,
        })
    }

    /// A multiplicative hash of the two halves (rustc-hash's constant), its high half folded into
    /// the low: hashbrown takes the bucket from the low bits and the tag from the top seven.
    #[inline(always)]
    fn hash(self) -> u64 {
        const K: u64 = 0xf135_7aea_2e62_a9c5;
        let h = (self.lo.wrapping_mul(K) ^ self.hi).wrapping_mul(K);
        h ^ (h >> 32)
    }
}

/// The bytes of a short `word`, zero after them: the path for a word near the end of its buffer,
/// kept apart so that the usual path stays one 16-byte load.
#[cold]
fn copied(word: &[u8]) -> u128 {
    let mut buf = [0u8; 16];
    let n = word.len().min(16);
    buf[..n].copy_from_slice(&word[..n]);
    u128::from_le_bytes(buf)
}

/// Words and what is known of each.
#[derive(Debug, Clone, Default)]
pub(super) struct WordTable<V> {
    short: HashTable<(Key, V)>,
    long: FxHashMap<Box<str>, V>,
}

impl<V: Copy> WordTable<V> {
    /// The value of the word `b[start..end]` (any bytes of `b` after it may be read, never
    /// matched). `None` if absent, or if the range is not one of `b`.
    #[inline(always)]
    pub(super) fn get_at(&self, b: &[u8], start: usize, end: usize) -> Option<V> {
        match Key::at(b, start, end) {
            Some(key) => self
                .short
                .find(key.hash(), |(k, _)| *k == key)
                .map(|&(_, v)| v),
            None => {
                let word = std::str::from_utf8(b.get(start..end)?).ok()?;
                self.long.get(word).copied()
            }
        }
    }

    /// The value of `word`, if present.
    #[inline]
    pub(super) fn get(&self, word: &str) -> Option<V> {
        self.get_at(word.as_bytes(), 0, word.len())
    }

    /// Sets the value of `word`, replacing any.
    pub(super) fn insert(&mut self, word: &str, value: V) {
        let b = word.as_bytes();
        match Key::at(b, 0, b.len()) {
            Some(key) => {
                match self
                    .short
                    .entry(key.hash(), |(k, _)| *k == key, |(k, _)| k.hash())
                {
                    hashbrown::hash_table::Entry::Occupied(mut e) => e.get_mut().1 = value,
                    hashbrown::hash_table::Entry::Vacant(e) => {
                        e.insert((key, value));
                    }
                }
            }
            None => {
                self.long.insert(word.into(), value);
            }
        }
    }

    /// How many words the table holds.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }
}

impl<'a, V: Copy> FromIterator<(&'a str, V)> for WordTable<V> {
    fn from_iter<I: IntoIterator<Item = (&'a str, V)>>(iter: I) -> Self {
        let mut table = WordTable {
            short: HashTable::new(),
            long: FxHashMap::default(),
        };
        for (word, value) in iter {
            table.insert(word, value);
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_word_it_holds_and_no_other() {
        let words = [
            "",
            "a",
            "ab",
            "ab\0",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
            "fifteen-bytes!!",
            "sixteen-bytes!!!",
            "a much longer word than that",
            "ünïcödé",
            ":)",
        ];
        let table: WordTable<usize> = words.iter().enumerate().map(|(i, w)| (*w, i)).collect();
        assert_eq!(table.len(), words.len());
        for (i, w) in words.iter().enumerate() {
            assert_eq!(table.get(w), Some(i), "{w:?}");
        }
        for absent in [
            "b",
            "a\0",
            "abcdefgh\0",
            "fifteen-bytes!",
            "sixteen-bytes!!",
            "abc",
        ] {
            assert_eq!(table.get(absent), None, "{absent:?}");
        }
    }

    #[test]
    fn reads_a_word_inside_a_longer_buffer_whatever_follows_it() {
        let table: WordTable<u8> = [("good", 1), ("not", 2), ("goodness", 3)]
            .into_iter()
            .collect();
        let text = b"not good goodness good";
        assert_eq!(table.get_at(text, 0, 3), Some(2));
        assert_eq!(table.get_at(text, 4, 8), Some(1));
        assert_eq!(table.get_at(text, 9, 17), Some(3));
        // The last word has fewer than 16 bytes after its start: the copying path.
        assert_eq!(table.get_at(text, 18, 22), Some(1));
        assert_eq!(table.get_at(text, 9, 13), Some(1), "'good' of 'goodness'");
        assert_eq!(table.get_at(text, 0, 2), None);
        assert_eq!(table.get_at(text, 20, 30), None, "a range past the end");
        assert_eq!(table.get_at(text, 5, 4), None, "a reversed range");
    }

    #[test]
    fn a_later_insert_replaces_the_value() {
        let mut table: WordTable<u8> = WordTable::default();
        table.insert("lol", 1);
        table.insert("lol", 2);
        table.insert("a much longer word than that", 1);
        table.insert("a much longer word than that", 3);
        assert_eq!(table.get("lol"), Some(2));
        assert_eq!(table.get("a much longer word than that"), Some(3));
        assert_eq!(table.len(), 2);
    }
}
