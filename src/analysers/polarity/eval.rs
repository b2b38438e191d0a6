//! Measuring sentiment per mention (`earshot eval-aspects`): on messages about two brands or more,
//! how often each brand's sentiment is read right, against what one label for the whole message
//! would score. The rows that matter most are those whose brands are read differently ("the app
//! is great but support is useless"): there a message-level label is wrong for one of them.

use crate::sentiment::eval::Figures;
use crate::types::Label;

/// One labelled message: each brand's (or product's) gold label, what was read for it, and the
/// message's own reading.
#[derive(Debug, Clone, PartialEq)]
pub struct AspectCase {
    /// (brand, product, gold label).
    pub gold: Vec<(String, Option<String>, Label)>,
    /// (brand, product, label read) of every mention found, in text order.
    pub read: Vec<(String, Option<String>, Label)>,
    /// The message's label as read.
    pub message: Label,
}

/// Figures over the mentions of a set of messages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AspectReport {
    /// Gold mentions scored (those of a brand the matcher found).
    pub mentions: usize,
    /// Gold mentions whose brand was not found at all (not scored).
    pub not_found: usize,
    /// Per-mention readings, all rows.
    pub per_mention: Figures,
    /// The message's label given to every mention, all rows: the baseline.
    pub message_label: Figures,
    /// Messages whose brands have different gold labels, and their mentions.
    pub contrasting_messages: usize,
    pub contrasting_mentions: usize,
    pub per_mention_contrasting: Figures,
    pub message_label_contrasting: Figures,
}

/// The mention of `items` a gold label of `brand` (and `product`) is about: a mention of that
/// product first, else the brand's first mention. `key` gives an item's brand and product.
pub fn find_mention<'a, T>(
    items: &'a [T],
    key: impl Fn(&T) -> (&String, &Option<String>),
    brand: &str,
    product: &Option<String>,
) -> Option<&'a T> {
    items
        .iter()
        .find(|r| {
            let (b, p) = key(r);
            product.is_some() && b == brand && p == product
        })
        .or_else(|| items.iter().find(|r| key(r).0 == brand))
}

/// Scores the cases; each gold brand is matched by [`find_mention`].
pub fn evaluate(cases: &[AspectCase]) -> AspectReport {
    let (mut all, mut base, mut con, mut con_base) = (vec![], vec![], vec![], vec![]);
    let (mut not_found, mut contrasting) = (0, 0);
    for c in cases {
        let differ = c.gold.iter().any(|g| g.2 != c.gold[0].2);
        contrasting += usize::from(differ);
        for (brand, product, gold) in &c.gold {
            let found = find_mention(&c.read, |r| (&r.0, &r.1), brand, product);
            let Some(r) = found else {
                not_found += 1;
                continue;
            };
            all.push((r.2, *gold));
            base.push((c.message, *gold));
            if differ {
                con.push((r.2, *gold));
                con_base.push((c.message, *gold));
            }
        }
    }
    AspectReport {
        mentions: all.len(),
        not_found,
        per_mention: Figures::of(all.iter().copied()),
        message_label: Figures::of(base.iter().copied()),
        contrasting_messages: contrasting,
        contrasting_mentions: con.len(),
        per_mention_contrasting: Figures::of(con.iter().copied()),
        message_label_contrasting: Figures::of(con_base.iter().copied()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_mention_readings_beat_the_message_label_where_brands_differ() {
        let b = |s: &str, l| (s.to_string(), None, l);
        let cases = [
            AspectCase {
                gold: vec![b("a", Label::Positive), b("b", Label::Negative)],
                read: vec![b("a", Label::Positive), b("b", Label::Negative)],
                message: Label::Negative,
            },
            AspectCase {
                gold: vec![b("a", Label::Neutral), b("c", Label::Neutral)],
                read: vec![b("a", Label::Neutral)],
                message: Label::Neutral,
            },
        ];
        let r = evaluate(&cases);
        assert_eq!((r.mentions, r.not_found), (3, 1));
        assert_eq!((r.contrasting_messages, r.contrasting_mentions), (1, 2));
        assert_eq!(r.per_mention_contrasting.accuracy, 1.0);
        assert_eq!(r.message_label_contrasting.accuracy, 0.5);
        assert_eq!(r.per_mention.accuracy, 1.0);
    }
}
