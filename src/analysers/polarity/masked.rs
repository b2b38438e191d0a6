//! A text as the sentiment model reads it: the brand and product names in it replaced by one
//! placeholder word.
//!
//! A model that reads "Corvid" learns what the training texts said of Corvid, and a name it has
//! never read (a new brand in a customer's catalog) gives it nothing to go on. Replacing every
//! name by the same word makes a reading turn on what is said of a brand, not on which brand it
//! is, and a brand the model never read is read like one it has. The words around a name ("the
//! Corvid *router*", "*switched from* Corvid") stay.

use std::borrow::Cow;

/// The word every masked name becomes: one the lexicon does not know and text rarely holds.
pub const PLACEHOLDER: &str = "brandname";

/// The placeholder of a name written in capitals ("CORVID IS DOWN"), so that a message in
/// capitals stays one, for the lexicon's emphasis and the all-caps feature alike.
const PLACEHOLDER_CAPITALS: &str = "BRANDNAME";

/// A text with some of its byte ranges (names) replaced by [`PLACEHOLDER`] (in capitals where
/// the name is), and where each replaced range now lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked<'a> {
    text: Cow<'a, str>,
    /// Each replaced range, in order: its start and end in the text, then the placeholder's
    /// start and end in the masked text.
    edits: Vec<[usize; 4]>,
}

impl<'a> Masked<'a> {
    /// `text` with each of `ranges` replaced by the placeholder. Ranges that overlap, or that
    /// only spaces separate ("Corvid Telecom"), become one placeholder; a range that is empty,
    /// out of the text or not on character boundaries is left alone.
    pub fn new(text: &'a str, mut ranges: Vec<(usize, usize)>) -> Masked<'a> {
        ranges.retain(|&(s, e)| s < e && text.get(s..e).is_some());
        if ranges.is_empty() {
            return Masked {
                text: Cow::Borrowed(text),
                edits: Vec::new(),
            };
        }
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
        for (s, e) in ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1 || text[last.1..s].bytes().all(|b| b == b' ') => {
                    last.1 = last.1.max(e)
                }
                _ => merged.push((s, e)),
            }
        }
        let mut out = String::with_capacity(text.len() + PLACEHOLDER.len());
        let mut edits = Vec::with_capacity(merged.len());
        let mut done = 0;
        for (s, e) in merged {
            out.push_str(&text[done..s]);
            let at = out.len();
            let name = &text[s..e];
            let capitals = name.chars().filter(|c| c.is_alphabetic()).count() > 1
                && !name.chars().any(char::is_lowercase);
            out.push_str(if capitals {
                PLACEHOLDER_CAPITALS
            } else {
                PLACEHOLDER
            });
            edits.push([s, e, at, out.len()]);
            done = e;
        }
        out.push_str(&text[done..]);
        Masked {
            text: Cow::Owned(out),
            edits,
        }
    }

    /// The masked text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether any name was replaced (if not, the text is the original).
    pub fn is_masked(&self) -> bool {
        !self.edits.is_empty()
    }

    /// The masked text, owned.
    pub fn into_string(self) -> String {
        self.text.into_owned()
    }

    /// Where the range `[start, end)` of the text lies in the masked text: a range that starts
    /// inside a name starts at its placeholder, one that ends inside a name ends after it.
    pub fn span(&self, (start, end): (usize, usize)) -> (usize, usize) {
        let (mut s, mut e) = (start, end);
        for &[from, to, at, after] in &self.edits {
            if start >= from {
                s = if start < to { at } else { after + (start - to) };
            }
            if end > from {
                e = if end <= to { after } else { after + (end - to) };
            }
        }
        (s, e.max(s))
    }

    /// Where the range `[start, end)` of the masked text lies in the text: the inverse of
    /// [`span`](Self::span). A range that starts inside a placeholder starts at its name, one that
    /// ends inside a placeholder ends after its name.
    pub fn unspan(&self, (start, end): (usize, usize)) -> (usize, usize) {
        let (mut s, mut e) = (start, end);
        for &[from, to, at, after] in &self.edits {
            if start >= at {
                s = if start < after {
                    from
                } else {
                    to + (start - after)
                };
            }
            if end > at {
                e = if end <= after { to } else { to + (end - after) };
            }
        }
        (s, e.max(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_one_word_and_spans_follow_them() {
        let text = "Switched from Corvid Telecom to @larkspurhelp, happy now";
        let corvid = (14, 20);
        let telecom = (21, 28);
        let handle = (33, 45);
        let m = Masked::new(text, vec![handle, telecom, corvid]);
        assert!(m.is_masked());
        assert_eq!(m.text(), "Switched from brandname to @brandname, happy now");
        // A mention over both words of the name is the one placeholder.
        let (s, e) = m.span((14, 28));
        assert_eq!(&m.text()[s..e], "brandname");
        let (s, e) = m.span((32, 45));
        assert_eq!(&m.text()[s..e], "@brandname");
        // Text after the names keeps its words.
        let (s, e) = m.span((47, text.len()));
        assert_eq!(&m.text()[s..e], "happy now");
        let (s, e) = m.span((0, 13));
        assert_eq!(&m.text()[s..e], "Switched from");
    }

    #[test]
    fn unspan_takes_a_range_of_the_masked_text_back_to_the_text() {
        let text = "Switched from Corvid Telecom to @larkspurhelp, happy now";
        let m = Masked::new(text, vec![(33, 45), (21, 28), (14, 20)]);
        // Every word outside a name, and every name, maps back to itself.
        for (start, end) in [
            (0, 8),
            (47, 52),
            (53, 56),
            (14, 28),
            (32, 45),
            (0, text.len()),
        ] {
            assert_eq!(
                m.unspan(m.span((start, end))),
                (start, end),
                "{start}..{end}"
            );
        }
        // Inside a placeholder: its whole name.
        let (s, e) = m.span((14, 28));
        assert_eq!(m.unspan((s + 2, e - 2)), (14, 28));
        // A name that is not ASCII, and one in capitals: the same round trips.
        let text = "CAFÉ NOIR IS SHUT, Café Noir's café too";
        let m = Masked::new(text, vec![(0, 5), (6, 10), (20, 25), (26, 30)]);
        assert_eq!(m.text(), "BRANDNAME IS SHUT, brandname's café too");
        for (start, end) in [(0, 10), (11, 18), (20, 30), (30, 32), (33, text.len())] {
            assert!(text.is_char_boundary(start) && text.is_char_boundary(end));
            assert_eq!(
                m.unspan(m.span((start, end))),
                (start, end),
                "{start}..{end}"
            );
        }
        // Unmasked text maps to itself.
        let plain = Masked::new("no names here", Vec::new());
        assert_eq!(plain.unspan((3, 8)), (3, 8));
    }

    #[test]
    fn ranges_that_cannot_be_replaced_leave_the_text_alone() {
        let text = "Café Ember";
        // Inside "é", empty, past the end.
        let m = Masked::new(text, vec![(4, 5), (2, 2), (8, 40)]);
        assert!(!m.is_masked());
        assert_eq!(m.text(), text);
        assert_eq!(m.span((6, 11)), (6, 11));
        let m = Masked::new(text, vec![(6, 11)]);
        assert_eq!(m.text(), "Café brandname");
        assert_eq!(m.into_string(), "Café brandname");
        // A name in capitals becomes the placeholder in capitals.
        let m = Masked::new("CAFÉ EMBER IS SHUT", vec![(6, 11)]);
        assert_eq!(m.text(), "CAFÉ BRANDNAME IS SHUT");
    }
}
