//! What our product lines offer: the catalog's own products, their lines and the jobs they do,
//! for finding a need that another of our lines answers.

use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use super::observation::Observation;
use crate::catalog::Catalog;

/// One of our products with a line.
#[derive(Debug, Clone, PartialEq)]
struct Offer {
    product: String,
    line: String,
    /// Its jobs, as indexes into [`Phrases`].
    jobs: Vec<usize>,
}

/// Our products by line, with their jobs stemmed.
pub struct Offerings {
    offers: Vec<Offer>,
    phrases: Phrases,
    stemmer: Stemmer,
}

impl std::fmt::Debug for Offerings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Offerings")
            .field("offers", &self.offers)
            .finish()
    }
}

/// The words of a text: runs of letters and digits.
fn split(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// A text's words lower-cased, each as `str::to_lowercase` lowers it: an ASCII text (nearly all)
/// in one copy, any other word by word. Lower-casing every word into a String of its own was a
/// sixth of the memory's time (callgrind, examples/memory_speed).
enum Lowered {
    Ascii(String),
    Words(Vec<String>),
}

impl Lowered {
    fn of(text: &str) -> Lowered {
        if text.is_ascii() {
            Lowered::Ascii(text.to_ascii_lowercase())
        } else {
            Lowered::Words(split(text).map(str::to_lowercase).collect())
        }
    }

    fn words(&self) -> Vec<&str> {
        match self {
            Lowered::Ascii(s) => {
                // `split`, by bytes: in ASCII a letter or digit is an ASCII one.
                let mut words = Vec::new();
                let mut start = None;
                for (i, b) in s.bytes().enumerate() {
                    match (b.is_ascii_alphanumeric(), start) {
                        (true, None) => start = Some(i),
                        (false, Some(from)) => {
                            words.push(&s[from..i]);
                            start = None;
                        }
                        _ => {}
                    }
                }
                if let Some(from) = start {
                    words.push(&s[from..]);
                }
                words
            }
            Lowered::Words(w) => w.iter().map(String::as_str).collect(),
        }
    }
}

/// The stems a word is a form of (nearly always none or one).
type Forms = SmallVec<[u32; 2]>;

/// A stem of a job phrase's word.
#[derive(Debug)]
struct Stem {
    stem: String,
    /// The byte length of its head: all of the stem but its last letter ("policy" stems to
    /// "polici": a word is a form of it only if it starts with "polic").
    head: usize,
}

impl Stem {
    fn is_form(&self, stemmer: &Stemmer, word: &str) -> bool {
        word.starts_with(&self.stem[..self.head]) && stemmer.stem(word) == self.stem
    }

    /// A head of two bytes or more: found through [`Phrases::by_prefix`].
    fn indexed(&self) -> bool {
        self.head >= 2
    }
}

/// Job phrases as their words' stems, each distinct stem once, found by the first two bytes of
/// its head.
///
/// A message's words are matched against the stems once, and only a word that starts like a stem
/// is stemmed, once; the phrases are then runs of stem ids. Trying every phrase at every word, each
/// word checked against each stem anew, was a third of the memory's time (callgrind,
/// examples/memory_speed). A stem with a shorter head ("wi" of "wi-fi": every word starting with
/// a `w` would be stemmed) is checked only where the rest of its phrase matched.
#[derive(Debug, Default)]
struct Phrases {
    /// Each phrase: its words' stem ids.
    phrases: Vec<Vec<u32>>,
    stems: Vec<Stem>,
    /// Stems with heads of two bytes or more, by those two bytes.
    by_prefix: FxHashMap<[u8; 2], Vec<u32>>,
}

impl Phrases {
    /// Adds a phrase; returns its index.
    fn add(&mut self, stemmer: &Stemmer, phrase: &str) -> usize {
        let lowered = Lowered::of(phrase);
        let ids = lowered
            .words()
            .into_iter()
            .map(|w| {
                let stem = stemmer.stem(w).into_owned();
                if let Some(i) = self.stems.iter().position(|s| s.stem == stem) {
                    return i as u32;
                }
                let id = self.stems.len() as u32;
                let head = stem.char_indices().last().map_or(0, |(i, _)| i);
                if let [a, b, ..] = stem.as_bytes()[..head] {
                    self.by_prefix.entry([a, b]).or_default().push(id);
                }
                self.stems.push(Stem { stem, head });
                id
            })
            .collect();
        self.phrases.push(ids);
        self.phrases.len() - 1
    }

    /// For each word (lower case), the indexed stems it is a form of.
    fn forms(&self, stemmer: &Stemmer, words: &[&str]) -> Vec<Forms> {
        words
            .iter()
            .map(|w| {
                let mut forms = Forms::new();
                let Some(ids) = (match w.as_bytes() {
                    [a, b, ..] => self.by_prefix.get(&[*a, *b]),
                    _ => None,
                }) else {
                    return forms;
                };
                let mut stem = None;
                for &id in ids {
                    let s = &self.stems[id as usize];
                    if w.starts_with(&s.stem[..s.head])
                        && *stem.get_or_insert_with(|| stemmer.stem(w)) == s.stem
                    {
                        forms.push(id);
                    }
                }
                forms
            })
            .collect()
    }

    /// Whether phrase `p` occurs as consecutive `words` (lower case, with their [`Self::forms`];
    /// `present`: [`Self::present`] of the forms).
    fn found(
        &self,
        stemmer: &Stemmer,
        words: &[&str],
        forms: &[Forms],
        present: &[bool],
        p: usize,
    ) -> bool {
        let phrase = &self.phrases[p];
        let stem = |id: u32| &self.stems[id as usize];
        // Most phrases are not there: one of their indexed stems is absent from the whole text.
        if phrase.is_empty()
            || phrase
                .iter()
                .any(|&id| stem(id).indexed() && !present[id as usize])
        {
            return false;
        }
        (0..(words.len() + 1).saturating_sub(phrase.len())).any(|at| {
            let (words, forms) = (&words[at..], &forms[at..]);
            // The indexed stems and the short ones' heads first, then the short ones' stems.
            phrase.iter().enumerate().all(|(k, &id)| {
                let s = stem(id);
                if s.indexed() {
                    forms[k].contains(&id)
                } else {
                    words[k].starts_with(&s.stem[..s.head])
                }
            }) && phrase.iter().enumerate().all(|(k, &id)| {
                let s = stem(id);
                s.indexed() || s.is_form(stemmer, words[k])
            })
        })
    }

    /// Which stems a text's [`Self::forms`] hold, by stem id.
    fn present(&self, forms: &[Forms]) -> Vec<bool> {
        let mut present = vec![false; self.stems.len()];
        for &id in forms.iter().flatten() {
            present[id as usize] = true;
        }
        present
    }
}

impl Offerings {
    /// Our (non-competitor) brands' products that name a line.
    pub fn of(catalog: &Catalog) -> Offerings {
        let stemmer = Stemmer::create(Algorithm::English);
        let mut phrases = Phrases::default();
        let offers = catalog
            .brands
            .iter()
            .filter(|b| !b.competitor)
            .flat_map(|b| &b.products)
            .filter_map(|p| {
                Some(Offer {
                    product: p.id.clone(),
                    line: p.line.clone()?,
                    jobs: p.jobs.iter().map(|j| phrases.add(&stemmer, j)).collect(),
                })
            })
            .collect();
        Offerings {
            offers,
            phrases,
            stemmer,
        }
    }

    /// A product of a line the customer does not use (`lines`: the lines known before this
    /// message) that answers a need in this message: one of ours the message asks about, or one
    /// whose job the message names. The customer must use one of our lines (this message's
    /// products count), and the message must ask: a need, a question or a wish to buy. The
    /// message need not name us: a customer's need is an opportunity wherever they say it.
    pub fn cross_line(
        &self,
        o: &Observation,
        lines: &super::set::Set<super::state::Name>,
    ) -> Option<(String, String)> {
        if !o.asks() || self.offers.is_empty() {
            return None;
        }
        // A product of a new line the message asks about, for a customer already on a line.
        if !lines.is_empty() {
            if let Some((p, Some(l))) = o
                .products
                .iter()
                .find(|(_, l)| l.as_ref().is_some_and(|l| !lines.contains(l.as_str())))
            {
                return Some((p.clone(), l.clone()));
            }
        }
        // The lines known with this message's; offers of the others are candidates.
        let here = || o.products.iter().filter_map(|(_, l)| l.as_ref());
        if lines.is_empty() && here().next().is_none() {
            return None;
        }
        let known = |line: &String| lines.contains(line.as_str()) || here().any(|l| l == line);
        let mut candidates = self.offers.iter().filter(|x| !known(&x.line)).peekable();
        candidates.peek()?;
        // The message's text and its jobs: each as its words and their forms.
        let lowered: Vec<Lowered> = std::iter::once(&o.text)
            .chain(&o.jobs)
            .map(|t| Lowered::of(t))
            .collect();
        let texts: Vec<(Vec<&str>, Vec<Forms>, Vec<bool>)> = lowered
            .iter()
            .map(|l| {
                let words = l.words();
                let forms = self.phrases.forms(&self.stemmer, &words);
                let present = self.phrases.present(&forms);
                (words, forms, present)
            })
            .collect();
        candidates
            .find(|x| {
                x.jobs.iter().any(|&j| {
                    texts
                        .iter()
                        .any(|(w, f, p)| self.phrases.found(&self.stemmer, w, f, p, j))
                })
            })
            .map(|x| (x.product.clone(), x.line.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `phrase` is found in `text` as the offerings find a job in a message.
    fn finds(text: &str, phrase: &str) -> bool {
        let stemmer = Stemmer::create(Algorithm::English);
        let mut phrases = Phrases::default();
        // Other phrases beside it, sharing stems and heads, as a catalog's jobs do.
        for other in ["back", "routing", "polish", "call forwarding", "wi-fi"] {
            phrases.add(&stemmer, other);
        }
        let p = phrases.add(&stemmer, phrase);
        let lowered = Lowered::of(text);
        let words = lowered.words();
        let forms = phrases.forms(&stemmer, &words);
        phrases.found(&stemmer, &words, &forms, &phrases.present(&forms), p)
    }

    #[test]
    fn phrases_match_words_that_stem_alike_in_order() {
        let w = "We need BACKUPS of the shop's files, and call routing for the business";
        assert!(finds(w, "backup"));
        assert!(finds(w, "call routing"));
        assert!(finds(w, "businesses"));
        assert!(!finds(w, "routing call"));
        assert!(!finds(w, "back"));
        assert!(!finds("a background update", "back up"));
        assert!(finds("Backing up the files", "back up"));
        assert!(finds("our policy", "policies"));
        // Capitals, in ASCII and not.
        assert!(finds("OUR POLICIES", "policy"));
        assert!(finds("Deux CAFÉS", "cafés"));
        assert!(!finds("Deux CAFÉS", "policy"));
        // Short words and stems shorter than their two-byte index.
        assert!(finds("my wifi is down", "wifi"));
        assert!(finds("the wi-fi is down", "wi-fi"));
        assert!(finds("I need an e sim", "e sim"));
        assert!(!finds("I need a sim", "e sim"));
        assert!(!finds("a b c", ""));
        assert!(!finds("", "backup"));
    }

    #[test]
    fn ascii_words_are_the_words_split_finds() {
        for text in [
            "",
            "  Backups, call-routing & 4G!! ",
            "a",
            "end.",
            "x_y z--w 12ab",
            "\tTabs\nand lines\r\n",
        ] {
            let lowered = text.to_lowercase();
            let expected: Vec<&str> = split(&lowered).collect();
            assert_eq!(Lowered::of(text).words(), expected, "{text:?}");
        }
    }
}
