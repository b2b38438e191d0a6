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
}

impl std::fmt::Debug for Offerings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Offerings")
            .field("offers", &self.offers)
            .finish()
    }
}

/// The longest ending a word may add to a stem and still be that word ("backup" + "s",
/// "rout" + "ing"; not "back" + "ground").
const MAX_ENDING: usize = 3;

/// Lower-cased words of a text.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Stems of a text's words.
fn stems(stemmer: &Stemmer, text: &str) -> Vec<String> {
    words(text)
        .iter()
        .map(|w| stemmer.stem(w).into_owned())
        .collect()
}

/// Whether `word` is a form of `stem`: the stem and a short ending.
fn is_form(word: &str, stem: &str) -> bool {
    word.starts_with(stem) && word.len() - stem.len() <= MAX_ENDING
}

/// Whether the stems of `phrase` occur as consecutive words of `words`, each word a form of its
/// stem. Matching words against stems, instead of stemming every word of every message, keeps
/// the stage fast: stemming was two thirds of its time (callgrind, examples/memory_speed).
fn contains(words: &[String], phrase: &[String]) -> bool {
    !phrase.is_empty()
        && words
            .windows(phrase.len())
            .any(|w| w.iter().zip(phrase).all(|(word, stem)| is_form(word, stem)))
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
        Offerings { offers }
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
        let text = words(&o.text);
        let jobs: Vec<Vec<String>> = o.jobs.iter().map(|j| words(j)).collect();
        self.offers
            .iter()
            .filter(|x| !known.contains(&x.line))
            .find(|x| {
                x.jobs
                    .iter()
                    .any(|j| contains(&text, j) || jobs.iter().any(|w| contains(w, j)))
            })
            .map(|x| (x.product.clone(), x.line.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_match_forms_of_their_stems_in_order() {
        let s = Stemmer::create(Algorithm::English);
        let w = words("We need BACKUPS of the shop's files, and call routing");
        assert!(contains(&w, &stems(&s, "backup")));
        assert!(contains(&w, &stems(&s, "call routing")));
        assert!(!contains(&w, &stems(&s, "routing call")));
        assert!(!contains(&words("backgrounds"), &stems(&s, "back")));
        assert!(!contains(
            &words("a background update"),
            &stems(&s, "back up")
        ));
        assert!(contains(
            &words("Backing up the files"),
            &stems(&s, "back up")
        ));
        assert!(!contains(&w, &[]));
    }
}
