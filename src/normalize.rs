//! A text as its writer typed it, in the spelling the analysers read: HTML character references
//! decoded, typographic apostrophes made plain.
//!
//! **Character references.** Twitter's API escapes `&`, `<` and `>` in a tweet's text (`&amp;`,
//! `&lt;`, `&gt;`), Reddit's does the same in a comment's body, and helpdesk exports carry `&#39;`
//! and `&nbsp;`. Read as they arrive, a heart (`<3`) is the letters `lt` and a digit, and `>:[` is
//! no frown: the lexicon scores neither, and a model learns the escape instead of the face. VADER's
//! own rated tweets carry them too (162 of 4,200 tweets: 138 `&amp;`, 20 hearts as `&lt;3`). Only
//! complete references are decoded (`&amp;`, `&#39;`, `&#x200B;`, every HTML5 name that ends in
//! `;`); an `&` that starts none ("AT&T", "R&D", "fish & chips") stays as written.
//!
//! **Apostrophes.** Phones type `’` (U+2019) where a keyboard types `'`: a third of GoEmotions'
//! apostrophes are curly, and none of the corpus's. The lexicon's negations and contractions are
//! spelt with `'`, so "I don’t like this phone" read as praise (compound 0.361) where "I don't
//! like this phone" reads −0.276. The models' own tokenizers already read `’` as `'`; the names
//! model did not, nor did any reader know `‘`, `ʼ` (U+02BC) or `´` (U+00B4, "don´t"). All four
//! become `'`. Double quotes stay as typed (the emotion features read them as symbols).
//!
//! Every text is normalised once, where it enters: a post's text and a ticket's parts
//! ([`crate::interaction`]), and the rated and labelled files the models are trained and measured
//! on ([`crate::sentiment::eval::parse_rated`], [`crate::emotion::parse_goemotions`]), so that
//! training reads what the daemon reads. A reader whose texts then go through the daemon's
//! decoding keeps them as written ([`crate::sentiment::eval::parse_rated_as_written`]): decoding
//! twice would turn a writer's `&amp;lt;` into `<`. Evidence ranges point into the normalised
//! text, which is the insight's `text`.

use std::borrow::Cow;

/// `text` with its character references decoded and its typographic apostrophes plain;
/// borrowed, with no copy, when there is neither (an ASCII text without `&` costs two scans).
pub fn normalize(text: &str) -> Cow<'_, str> {
    match unescape(text) {
        Cow::Borrowed(t) => apostrophes(t),
        Cow::Owned(t) => Cow::Owned(match apostrophes(&t) {
            Cow::Borrowed(_) => t,
            Cow::Owned(p) => p,
        }),
    }
}

/// [`normalize`] into an owned string, reusing `text`'s allocation when there is nothing to do.
pub fn normalize_owned(text: String) -> String {
    match normalize(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(normalized) => normalized,
    }
}

/// `text` with its HTML character references decoded; borrowed when it has none (one `memchr`
/// for `&`).
pub fn unescape(text: &str) -> Cow<'_, str> {
    if memchr::memchr(b'&', text.as_bytes()).is_none() {
        return Cow::Borrowed(text);
    }
    html_escape::decode_html_entities(text)
}

/// The characters written for an apostrophe that are not `'`.
fn is_typographic_apostrophe(c: char) -> bool {
    matches!(c, '\u{2019}' | '\u{2018}' | '\u{02bc}' | '\u{00b4}')
}

/// `text` with every typographic apostrophe as `'`; borrowed when it has none (an ASCII text
/// has none). The catalog's names and queries go through it too ([`crate::catalog::Catalog::parse`]),
/// so that a query typed `McDonald’s` matches the text it is read against.
pub fn apostrophes(text: &str) -> Cow<'_, str> {
    if text.is_ascii() || !text.contains(is_typographic_apostrophe) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if is_typographic_apostrophe(c) {
                    '\''
                } else {
                    c
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_references_apis_write_are_decoded() {
        assert_eq!(normalize("Lol &lt;3"), "Lol <3");
        assert_eq!(normalize("ugh &gt;:[ sorry"), "ugh >:[ sorry");
        assert_eq!(normalize("Sam &amp; Cat"), "Sam & Cat");
        assert_eq!(normalize("I&#39;m on hold"), "I'm on hold");
        assert_eq!(normalize("&quot;fast&quot; fibre"), "\"fast\" fibre");
        assert_eq!(normalize("a&nbsp;b"), "a\u{a0}b");
        assert_eq!(normalize("x &#x200B; y"), "x \u{200b} y");
        assert_eq!(normalize("caf&eacute; &#128512;"), "café 😀");
    }

    #[test]
    fn an_ampersand_that_starts_no_reference_stays() {
        for text in [
            "AT&T dropped my call",
            "R&D team",
            "fish & chips",
            "Q&A at 5",
            "&",
            "&&",
            "&;",
            "&#;",
            "&#xZZ;",
            "fish &amp chips",
            "&#0;",
            "&#xD800;",
            "no entity here",
            "",
        ] {
            assert_eq!(normalize(text), text);
        }
    }

    #[test]
    fn typographic_apostrophes_become_plain() {
        assert_eq!(normalize("I don’t like it"), "I don't like it");
        assert_eq!(normalize("‘great’ service"), "'great' service");
        assert_eq!(normalize("isnʼt, don´t"), "isn't, don't");
        // With references too, in either order of the work.
        assert_eq!(normalize("can’t &amp; won&#8217;t"), "can't & won't");
        // Other characters around them stay, wherever they are in the text.
        assert_eq!(normalize("Straße’s café ’"), "Straße's café '");
        // Double quotes are not apostrophes.
        assert_eq!(normalize("“fast” fibre"), "“fast” fibre");
    }

    #[test]
    fn a_text_with_nothing_to_do_is_not_copied() {
        assert!(matches!(
            normalize("plain text, no ampersand"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(normalize("café “quoted”"), Cow::Borrowed(_)));
        let s = String::from("Sam &amp; Cat");
        assert_eq!(normalize_owned(s), "Sam & Cat");
        // An '&' that starts no reference: still the same buffer.
        let plain = String::from("AT&T, plain");
        let ptr = plain.as_ptr();
        let back = normalize_owned(plain);
        assert_eq!(back.as_ptr(), ptr);
    }

    #[test]
    fn decoding_is_what_the_writer_typed_not_a_second_pass() {
        // An escaped reference decodes once: the writer typed "&lt;".
        assert_eq!(normalize("type &amp;lt; for <"), "type &lt; for <");
    }
}
