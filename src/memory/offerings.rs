//! What our product lines offer: the catalog's own products, their lines and the jobs they do,
//! for finding a need that another of our lines answers.

use std::collections::BTreeSet;

use rust_stemmers::{Algorithm, Stemmer};

use super::observation::Observation;
use crate::catalog::Catalog;

/// One of our products with a line.
#[derive(Debug, Clone, PartialEq)]
struct Offer {
    product: String,
    line: String,
    /// Each job as its words' stems.
    jobs: Vec<Vec<String>>,
}

/// Our products by line, with their jobs stemmed.
pub struct Offerings {
    offers: Vec<Offer>,
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
            Lowered::Ascii(s) => split(s).collect(),
            Lowered::Words(w) => w.iter().map(String::as_str).collect(),
        }
    }
}

/// Stems of a text's words.
fn stems(stemmer: &Stemmer, text: &str) -> Vec<String> {
    Lowered::of(text)
        .words()
        .iter()
        .map(|w| stemmer.stem(w).into_owned())
        .collect()
}

/// Whether `word` (lower case) stems to `stem`. Only a word that starts like the stem (all of it
/// but its last letter: "policy" stems to "polici") is stemmed: stemming every word of every
/// message was two thirds of the memory's time (callgrind, examples/memory_speed).
fn is_form(stemmer: &Stemmer, word: &str, stem: &str) -> bool {
    let head = stem.char_indices().last().map_or(0, |(i, _)| i);
    word.starts_with(&stem[..head]) && stemmer.stem(word) == stem
}

/// Whether the stems of `phrase` occur as consecutive words of `words`.
fn contains(stemmer: &Stemmer, words: &[&str], phrase: &[String]) -> bool {
    !phrase.is_empty()
        && words.windows(phrase.len()).any(|w| {
            w.iter()
                .zip(phrase)
                .all(|(word, stem)| is_form(stemmer, word, stem))
        })
}

impl Offerings {
    /// Our (non-competitor) brands' products that name a line.
    pub fn of(catalog: &Catalog) -> Offerings {
        let stemmer = Stemmer::create(Algorithm::English);
        let offers = catalog
            .brands
            .iter()
            .filter(|b| !b.competitor)
            .flat_map(|b| &b.products)
            .filter_map(|p| {
                Some(Offer {
                    product: p.id.clone(),
                    line: p.line.clone()?,
                    jobs: p.jobs.iter().map(|j| stems(&stemmer, j)).collect(),
                })
            })
            .collect();
        Offerings { offers, stemmer }
    }

    /// A product of a line the customer does not use (`lines`: the lines known before this
    /// message) that answers a need in this message: one of ours the message asks about, or one
    /// whose job the message names. The customer must use one of our lines (this message's
    /// products count), and the message must ask: a need, a question or a wish to buy. The
    /// message need not name us: a customer's need is an opportunity wherever they say it.
    pub fn cross_line(
        &self,
        o: &Observation,
        lines: &BTreeSet<String>,
    ) -> Option<(String, String)> {
        if !o.asks() || self.offers.is_empty() {
            return None;
        }
        // A product of a new line the message asks about, for a customer already on a line.
        if !lines.is_empty() {
            if let Some((p, Some(l))) = o
                .products
                .iter()
                .find(|(_, l)| l.as_ref().is_some_and(|l| !lines.contains(l)))
            {
                return Some((p.clone(), l.clone()));
            }
        }
        let mut known = lines.clone();
        known.extend(o.products.iter().filter_map(|(_, l)| l.clone()));
        if known.is_empty() {
            return None;
        }
        let text = Lowered::of(&o.text);
        let text = text.words();
        let jobs: Vec<Lowered> = o.jobs.iter().map(|j| Lowered::of(j)).collect();
        let jobs: Vec<Vec<&str>> = jobs.iter().map(Lowered::words).collect();
        self.offers
            .iter()
            .filter(|x| !known.contains(&x.line))
            .find(|x| {
                x.jobs.iter().any(|j| {
                    contains(&self.stemmer, &text, j)
                        || jobs.iter().any(|w| contains(&self.stemmer, w, j))
                })
            })
            .map(|x| (x.product.clone(), x.line.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_match_words_that_stem_alike_in_order() {
        let s = Stemmer::create(Algorithm::English);
        let w =
            Lowered::of("We need BACKUPS of the shop's files, and call routing for the business");
        let w = w.words();
        assert!(contains(&s, &w, &stems(&s, "backup")));
        assert!(contains(&s, &w, &stems(&s, "call routing")));
        assert!(contains(&s, &w, &stems(&s, "businesses")));
        assert!(!contains(&s, &w, &stems(&s, "routing call")));
        assert!(!contains(&s, &w, &stems(&s, "back")));
        assert!(!contains(
            &s,
            &Lowered::of("a background update").words(),
            &stems(&s, "back up")
        ));
        assert!(contains(
            &s,
            &Lowered::of("Backing up the files").words(),
            &stems(&s, "back up")
        ));
        assert!(contains(
            &s,
            &Lowered::of("our policy").words(),
            &stems(&s, "policies")
        ));
        // Capitals, in ASCII and not.
        assert!(contains(
            &s,
            &Lowered::of("OUR POLICIES").words(),
            &stems(&s, "policy")
        ));
        assert!(contains(
            &s,
            &Lowered::of("Deux CAFÉS").words(),
            &stems(&s, "cafés")
        ));
        assert!(!contains(
            &s,
            &Lowered::of("Deux CAFÉS").words(),
            &stems(&s, "policy")
        ));
        assert!(!contains(&s, &w, &[]));
    }
}
