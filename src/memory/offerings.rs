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

/// Lower-cased stems of a text's words.
fn stems(stemmer: &Stemmer, text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| stemmer.stem(&w.to_lowercase()).into_owned())
        .collect()
}

/// Whether `phrase` occurs as consecutive words of `words`.
fn contains(words: &[String], phrase: &[String]) -> bool {
    !phrase.is_empty() && words.windows(phrase.len()).any(|w| w == phrase)
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
        let words = stems(&self.stemmer, &o.text);
        let job_words: Vec<Vec<String>> = o.jobs.iter().map(|j| stems(&self.stemmer, j)).collect();
        self.offers
            .iter()
            .filter(|x| !known.contains(&x.line))
            .find(|x| {
                x.jobs
                    .iter()
                    .any(|j| contains(&words, j) || job_words.iter().any(|w| contains(w, j)))
            })
            .map(|x| (x.product.clone(), x.line.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_match_whole_stemmed_words_in_order() {
        let s = Stemmer::create(Algorithm::English);
        let words = stems(&s, "We need BACKUPS of the shop's files, and call routing");
        assert!(contains(&words, &stems(&s, "backup")));
        assert!(contains(&words, &stems(&s, "call routing")));
        assert!(!contains(&words, &stems(&s, "routing call")));
        assert!(!contains(&words, &stems(&s, "back")));
        assert!(!contains(&words, &[]));
    }
}
