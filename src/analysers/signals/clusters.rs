//! Word clusters: each word of a general vocabulary with the cluster of words of like meaning it
//! belongs to, at two sizes (`data/earshot/clusters/words.tsv`, written by
//! `scripts/word_clusters.py` from a sentence encoder's reading of each word alone).
//!
//! The signal model learns from the words it saw in training; a cluster lets it read a word it
//! never saw by the words it did ("toddler" where training said "little one", "layover" where
//! it said "flight"). A word's clusters are two more features of the message, like its cue hits.

use rustc_hash::FxHashMap;

const WORDS: &str = include_str!("../../../data/earshot/clusters/words.tsv");

/// The longest word looked up; longer runs of letters are no word of the vocabulary.
const LONGEST: usize = 32;

/// The clusters of the vocabulary's words: the pair of cluster numbers (coarse, fine), or what
/// [`parse_with`](Self::parse_with) made of them (the model's feature ids, computed once at
/// start-up rather than at every word).
#[derive(Debug, Clone)]
pub struct WordClusters<T = [u16; 2]> {
    clusters: FxHashMap<&'static str, T>,
}

impl<T> Default for WordClusters<T> {
    fn default() -> Self {
        WordClusters {
            clusters: FxHashMap::default(),
        }
    }
}

impl WordClusters {
    /// The bundled table. A line that does not parse is skipped: the file is checked by a test.
    pub fn bundled() -> WordClusters {
        WordClusters::parse(WORDS)
    }

    /// A table in the bundled file's format: `word<TAB>coarse<TAB>fine`, `#` comments.
    pub fn parse(text: &'static str) -> WordClusters {
        WordClusters::parse_with(text, |c| c)
    }
}

impl<T: Copy> WordClusters<T> {
    /// The bundled table with each word's clusters turned into `f` of them as it is read (the
    /// model's feature ids, so they are computed once, not at every word).
    pub fn bundled_with(f: impl Fn([u16; 2]) -> T) -> WordClusters<T> {
        WordClusters::parse_with(WORDS, f)
    }

    /// [`parse`](WordClusters::parse), each word's clusters turned into `f` of them.
    pub fn parse_with(text: &'static str, f: impl Fn([u16; 2]) -> T) -> WordClusters<T> {
        let mut clusters = FxHashMap::default();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let mut cols = line.split('\t');
            let (Some(w), Some(c), Some(fine)) = (cols.next(), cols.next(), cols.next()) else {
                continue;
            };
            if let (Ok(c), Ok(fine)) = (c.parse(), fine.parse()) {
                clusters.insert(w, f([c, fine]));
            }
        }
        WordClusters { clusters }
    }

    /// How many words the table holds.
    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    /// Whether the table is empty (as in an untrained detector's tests, never in the bundled one).
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    /// The clusters of a word, lowercase.
    pub fn of(&self, word: &str) -> Option<T> {
        self.clusters.get(word).copied()
    }

    /// Calls `f` with the clusters of each word of `text` the table knows, in order. A word is a
    /// run of ASCII letters and apostrophes (typographic ones read as `'`), lowercased, its
    /// apostrophes trimmed at both ends: the words `scripts/word_clusters.py` counts.
    pub fn each(&self, text: &str, mut f: impl FnMut(T)) {
        if self.clusters.is_empty() {
            return;
        }
        let mut word = [0u8; LONGEST];
        let mut len = 0usize;
        let mut long = false;
        let mut flush = |word: &[u8], len: usize, long: bool| {
            if long || len == 0 {
                return;
            }
            let w = &word[..len];
            let start = w.iter().position(|&b| b != b'\'').unwrap_or(len);
            let end = w.iter().rposition(|&b| b != b'\'').map_or(start, |e| e + 1);
            // ASCII by construction.
            if let Some(c) = std::str::from_utf8(&w[start..end.max(start)])
                .ok()
                .filter(|s| !s.is_empty())
                .and_then(|s| self.of(s))
            {
                f(c);
            }
        };
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let (letter, step) = if b.is_ascii_alphabetic() {
                (Some(b.to_ascii_lowercase()), 1)
            } else if b == b'\'' {
                (Some(b'\''), 1)
            } else if bytes[i..].starts_with("\u{2019}".as_bytes()) {
                (Some(b'\''), 3)
            } else {
                (None, 1)
            };
            match letter {
                Some(l) => {
                    if len < LONGEST {
                        word[len] = l;
                        len += 1;
                    } else {
                        long = true;
                    }
                }
                None => {
                    flush(&word, len, long);
                    len = 0;
                    long = false;
                }
            }
            i += step;
        }
        flush(&word, len, long);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_of(t: &WordClusters, text: &str) -> Vec<[u16; 2]> {
        let mut out = Vec::new();
        t.each(text, |c| out.push(c));
        out
    }

    #[test]
    fn words_are_runs_of_letters_and_apostrophes_trimmed() {
        let t = WordClusters::parse("# header\nflight\t1\t10\ndon't\t2\t20\nmy\t3\t30\nbad line\n");
        assert_eq!(t.len(), 3);
        assert_eq!(
            words_of(&t, "My FLIGHT's gone, don\u{2019}t ask 'flight' flights"),
            // "flight's" is not "flight"; "flights" is another word.
            vec![[3, 30], [2, 20], [1, 10]]
        );
        assert_eq!(words_of(&t, "flight2flight").len(), 2);
        assert!(words_of(&t, &"a".repeat(100)).is_empty());
    }

    #[test]
    fn the_bundled_table_knows_general_words_and_groups_like_ones() {
        let t = WordClusters::bundled();
        assert!(t.len() > 20_000, "{} words", t.len());
        for w in ["flight", "toddler", "rent", "deadline", "refund"] {
            assert!(t.of(w).is_some(), "{w}");
        }
        // Words of like meaning share a cluster (coarse or fine) far more often than unrelated
        // words do.
        let shares = |a: &str, b: &str| match (t.of(a), t.of(b)) {
            (Some(x), Some(y)) => x[0] == y[0] || x[1] == y[1],
            _ => false,
        };
        let like = [
            ("toddler", "baby"),
            ("fever", "flu"),
            ("flight", "airport"),
            ("boss", "coworker"),
            ("rent", "mortgage"),
            ("wedding", "bride"),
            ("hospital", "clinic"),
            ("salary", "paycheck"),
            ("deadline", "overdue"),
            ("refund", "reimbursement"),
            ("router", "modem"),
            ("daughter", "son"),
        ];
        let unrelated = [
            ("toddler", "router"),
            ("fever", "salary"),
            ("flight", "daughter"),
            ("boss", "modem"),
            ("rent", "flu"),
            ("wedding", "paycheck"),
            ("hospital", "airport"),
            ("salary", "bride"),
        ];
        let like = like.iter().filter(|(a, b)| shares(a, b)).count();
        let unrelated = unrelated.iter().filter(|(a, b)| shares(a, b)).count();
        assert!(like >= 6, "{like} of 12 like pairs share a cluster");
        assert!(
            unrelated <= 1,
            "{unrelated} of 8 unrelated pairs share a cluster"
        );
    }
}
