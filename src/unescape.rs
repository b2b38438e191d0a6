//! A text as its writer typed it: the HTML character references that web APIs write into post
//! texts, decoded.
//!
//! Twitter's API escapes `&`, `<` and `>` in a tweet's text (`&amp;`, `&lt;`, `&gt;`), Reddit's
//! does the same in a comment's body, and helpdesk exports carry `&#39;` and `&nbsp;`. Read as
//! they arrive, a heart (`<3`) is the letters `lt` and a digit, and `>:[` is no frown: the lexicon
//! scores neither, and a model learns the escape instead of the face. VADER's own rated tweets
//! carry them too (162 of 4,200 tweets: 138 `&amp;`, 20 hearts as `&lt;3`). So every text is
//! decoded once, where it enters: a post's text and a ticket's parts ([`crate::interaction`]),
//! and the rated and labelled files the models are trained and measured on
//! ([`crate::sentiment::eval::parse_rated`], [`crate::emotion::parse_goemotions`]), so that
//! training reads what the daemon reads. A reader whose texts then go through the daemon's
//! decoding keeps them as written
//! ([`crate::sentiment::eval::parse_rated_as_written`]): decoding twice would turn a writer's
//! `&amp;lt;` into `<`.
//!
//! Only complete references are decoded (`&amp;`, `&#39;`, `&#x200B;`, every HTML5 name that
//! ends in `;`); an `&` that starts none ("AT&T", "R&D", "fish & chips") stays as written.

use std::borrow::Cow;

/// `text` with its HTML character references decoded; borrowed, with no copy, when it has none
/// (most texts: one `memchr` for `&`).
pub fn unescape(text: &str) -> Cow<'_, str> {
    if memchr::memchr(b'&', text.as_bytes()).is_none() {
        return Cow::Borrowed(text);
    }
    html_escape::decode_html_entities(text)
}

/// [`unescape`] into an owned string, reusing `text`'s allocation when there is nothing to decode.
pub fn unescape_owned(text: String) -> String {
    match unescape(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(decoded) => decoded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_references_apis_write_are_decoded() {
        assert_eq!(unescape("Lol &lt;3"), "Lol <3");
        assert_eq!(unescape("ugh &gt;:[ sorry"), "ugh >:[ sorry");
        assert_eq!(unescape("Sam &amp; Cat"), "Sam & Cat");
        assert_eq!(unescape("I&#39;m on hold"), "I'm on hold");
        assert_eq!(unescape("&quot;fast&quot; fibre"), "\"fast\" fibre");
        assert_eq!(unescape("a&nbsp;b"), "a\u{a0}b");
        assert_eq!(unescape("x &#x200B; y"), "x \u{200b} y");
        assert_eq!(unescape("caf&eacute; &#128512;"), "café 😀");
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
            assert_eq!(unescape(text), text);
        }
    }

    #[test]
    fn a_text_without_references_is_not_copied() {
        assert!(matches!(
            unescape("plain text, no ampersand"),
            Cow::Borrowed(_)
        ));
        let s = String::from("Sam &amp; Cat");
        assert_eq!(unescape_owned(s), "Sam & Cat");
        // An '&' that starts no reference: still the same buffer.
        let plain = String::from("AT&T, plain");
        let ptr = plain.as_ptr();
        let back = unescape_owned(plain);
        assert_eq!(back.as_ptr(), ptr);
    }

    #[test]
    fn decoding_is_what_the_writer_typed_not_a_second_pass() {
        // An escaped reference decodes once: the writer typed "&lt;".
        assert_eq!(unescape("type &amp;lt; for <"), "type &lt; for <");
    }
}
