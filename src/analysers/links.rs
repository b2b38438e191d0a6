//! Links and retweet credits in a text, which no analyser reads.
//!
//! A link is where a post points, not what its writer says: "https://t.co/Xb7Lq2ZkPa" is the
//! words "https", "t", "co" and a random id to a tokenizer, and a model learns whatever its
//! training texts happened to do with links. Ours learnt that a link means neutral: of the 534
//! general posts written with one, 492 are news and announcements labelled neutral, and so are 43
//! of the corpus's 44. Read on the dev splits with a link appended to every text, the sentiment
//! model's macro-F1 fell from 0.730 to 0.551 on VADER's tweets and from 0.820 to 0.614 on the
//! sentiment batches, and "This update is terrible, nothing works https://t.co/…" read neutral.
//! Real streams carry links on every kind of post (VADER's rated tweets: 683 of 4,200, most of
//! them positive). A retweet's credit (`RT @handle:`) is the same kind of thing, another's post
//! passed on: 342 of the 371 general posts written with one are labelled neutral, and 37 of
//! VADER's 173; with one put before every dev text, macro-F1 fell to 0.672 and 0.728.
//!
//! So the analysers' readers of words (the lexicon, the models' features, the names model, the
//! cues, durations, evidence, the market's phrases) read a text with its links [`blank`]ed: each
//! byte of a link becomes a space. Each reader blanks what it is given, so the trainers, which
//! call the same readers, read what the daemon reads. Not the language detector, whose English
//! needs every letter of a short tweet (blanked, 10 more of VADER's 4,200 English tweets read as
//! another language), nor the customer memory's offerings.
//! The text keeps its length, so every range a reader reports still points into the text as
//! written. The insight's `text` keeps its links; the mention engine already reads a link as one
//! token that no plain term matches.

use std::borrow::Cow;

/// The byte ranges of the links in `text`, in order ([`is_link`] on each run between white
/// space, without the brackets, quotes and closing punctuation around it), and of its retweet
/// credits (`RT @handle:`, the marker and the handle). A text with no `/`, `www.`, `http` or
/// `RT @` has none, which two `memchr` scans of its bytes tell.
pub fn find(text: &str) -> Vec<(usize, usize)> {
    if !may_have_link(text.as_bytes()) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut marker: Option<usize> = None;
    for run in text.split_whitespace() {
        let at = run.as_ptr() as usize - text.as_ptr() as usize;
        if let Some(m) = marker.take() {
            // "RT @handle:" as retweets write it, one space apart (what the prefilter looks for).
            if at == m + 3 && text.as_bytes()[m + 2] == b' ' && is_credit(run) {
                out.push((m, at + run.len()));
                continue;
            }
        }
        if run == "RT" {
            marker = Some(at);
            continue;
        }
        let inner = run
            .trim_start_matches(|c: char| {
                matches!(c, '(' | '[' | '{' | '<' | '"' | '\'' | '“' | '‘')
            })
            .trim_end_matches(|c: char| {
                matches!(
                    c,
                    '.' | ','
                        | ';'
                        | ':'
                        | '!'
                        | '?'
                        | ')'
                        | ']'
                        | '}'
                        | '>'
                        | '"'
                        | '\''
                        | '”'
                        | '’'
                        | '…'
                )
            });
        if is_link(inner) {
            let start = at + (inner.as_ptr() as usize - run.as_ptr() as usize);
            // A link written onto a word ("terrible.https://…", "[so bad](https://…") starts at
            // its scheme: the word before it is the writer's.
            let scheme = scheme_start(inner.as_bytes()).unwrap_or(0);
            out.push((start + scheme, start + inner.len()));
        }
    }
    out
}

/// Whether a run is the handle a retweet credits: `@`, then letters, digits and `_`, then `:`.
fn is_credit(run: &str) -> bool {
    run.strip_prefix('@')
        .and_then(|r| r.strip_suffix(':'))
        .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// `text` with each byte of its links ([`find`]) replaced by a space: the same length, so every
/// range of it is a range of `text`. Borrowed when there is no link.
pub fn blank(text: &str) -> Cow<'_, str> {
    let links = find(text);
    if links.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut bytes = text.as_bytes().to_vec();
    for (s, e) in links {
        bytes[s..e].fill(b' ');
    }
    // Whole characters were replaced by ASCII spaces: still UTF-8.
    Cow::Owned(String::from_utf8(bytes).unwrap_or_else(|_| text.to_string()))
}

/// [`blank`], and each `@handle` too (`@`, then letters, digits and `_`, not written onto a word
/// or an address: not the `@` of `jo@example.com`): what the models' hashed features, the
/// signals' cues and word clusters and the evidence words read. A handle names an account, not
/// what its writer says, and a model learns a dataset's habit from it: VADER's rated tweets write
/// every handle `@anonymous`, 1,465 of its 2,214 tweets with one are positive against 880 of the
/// 1,986 without, and the sentiment model that read handles scored VADER's held-out tweets at
/// macro-F1 0.712 as written and 0.679 with every handle written `@user`, as TweetEval writes
/// them; its sarcasm output flagged 2.1% of their praise as written and 5.3% as `@user`. The
/// readers that look for whom a post addresses (whether it tags an account, the names model, the
/// mention engine, the words around a mention, a switch's direction) read handles as written; a
/// mention that is a handle is read as its role where it stands (`signals::roles`).
pub fn blank_handles_too(text: &str) -> Cow<'_, str> {
    let links = blank(text);
    let b = links.as_bytes();
    let handles: Vec<(usize, usize)> = memchr::memchr_iter(b'@', b)
        .filter_map(|at| Some((at, handle_end(b, at)?)))
        .collect();
    if handles.is_empty() {
        return links;
    }
    let mut bytes = b.to_vec();
    for (at, end) in handles {
        bytes[at..end].fill(b' ');
    }
    // Only ASCII bytes were replaced: still UTF-8.
    match String::from_utf8(bytes) {
        Ok(s) => Cow::Owned(s),
        Err(_) => links,
    }
}

/// Where the handle whose `@` is `b[at]` ends: `@`, then letters, digits and `_`, not written
/// onto a word, an e-mail's user or a link's path. ".@airline" (Twitter's public reply) is a
/// handle; "jo@example.com", "josé@example.com" (a byte of 0x80 or more is part of a letter of
/// another script, or a symbol) and "youtube.com/@channel" hold none. `None` when `b[at]` is no
/// `@` or starts no handle. The one rule of [`blank_handles_too`] and of what
/// `signals::model::first_tag` takes for a tag.
pub(crate) fn handle_end(b: &[u8], at: usize) -> Option<usize> {
    if b.get(at) != Some(&b'@') || !b.get(at + 1).is_some_and(|&c| is_handle_byte(c)) {
        return None;
    }
    let onto = at.checked_sub(1).is_some_and(|k| {
        let c = b[k];
        is_handle_byte(c) || matches!(c, b'@' | b'/') || c >= 0x80
    });
    if onto {
        return None;
    }
    Some(
        at + 1
            + b[at + 1..]
                .iter()
                .take_while(|&&c| is_handle_byte(c))
                .count(),
    )
}

fn is_handle_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Whether `bytes` may hold a link or a retweet's credit: a `/`, or `RT @` or `http` (as
/// written here), or `www.` (in any case). One pass for `/` and one for the last byte of the
/// three words, each checked back: most texts have none of them and cost two `memchr` scans.
fn may_have_link(bytes: &[u8]) -> bool {
    memchr::memchr(b'/', bytes).is_some()
        || memchr::memchr3_iter(b'@', b'p', b'.', bytes).any(|i| {
            let before = &bytes[i.saturating_sub(3)..i];
            match bytes[i] {
                b'@' => before == b"RT ",
                b'p' => before == b"htt",
                _ => before.eq_ignore_ascii_case(b"www"),
            }
        })
}

/// Whether a run of text is a link: it has a scheme of two letters or more (`https://…`,
/// `ftp://…`; not the `://` of a face), is a scheme alone in lower case (`http`), starts with
/// `www.`, or is a domain with a path (`bit.ly/3xYz`, `pic.twitter.com/abc`): labels of letters,
/// digits and `-` joined by dots, the last of two to six lower-case letters, then `/`. A score
/// ("8.5/10"), a date ("5/12"), "and/or" or "Mr.Smith/Jones" is no link, and nor is a bare
/// domain ("Booking.com" is often a brand's name).
pub fn is_link(run: &str) -> bool {
    let b = run.as_bytes();
    if scheme_start(b).is_some() {
        return true;
    }
    // What is left of a link whose address was taken out ("http", as models trained on
    // TweetEval write one). In capitals it is the protocol a ticket names ("HTTP 500").
    if b == b"http" || b == b"https" {
        return true;
    }
    if b.len() > 4 && b[..4].eq_ignore_ascii_case(b"www.") {
        return true;
    }
    let Some(slash) = memchr::memchr(b'/', b) else {
        return false;
    };
    let domain = &b[..slash];
    let mut labels = domain.split(|&c| c == b'.');
    let Some(first) = labels.next() else {
        return false;
    };
    let mut count = 1;
    let mut last = first;
    let label_ok =
        |l: &[u8]| !l.is_empty() && l.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-');
    if !label_ok(first) {
        return false;
    }
    for l in labels {
        if !label_ok(l) {
            return false;
        }
        count += 1;
        last = l;
    }
    count >= 2 && (2..=6).contains(&last.len()) && last.iter().all(u8::is_ascii_lowercase)
}

/// Where the scheme of a link starts in `b`: the letters and digits before its first `://`, two
/// or more of them (not the `://` of a face). `None` when there is no such scheme.
fn scheme_start(b: &[u8]) -> Option<usize> {
    let k = memchr::memmem::find(b, b"://")?;
    let scheme = b[..k]
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    (scheme >= 2).then(|| k - scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_blanked_too_but_an_address_stays() {
        let t = "@Larkspur_UK thanks! cc @jo, .@air mail jo@example.com. RT @x: hi https://t.co/a";
        let b = blank_handles_too(t);
        assert_eq!(b.len(), t.len());
        assert!(
            !b.contains("Larkspur_UK") && !b.contains("@jo,") && !b.contains("@air"),
            "{b}"
        );
        assert!(
            b.contains("thanks!") && b.contains("jo@example.com."),
            "{b}"
        );
        assert!(!b.contains("https") && !b.contains("RT @x"), "{b}");
        assert_eq!(
            blank_handles_too("héllo@world and @ alone"),
            "héllo@world and @ alone"
        );
        assert!(matches!(blank_handles_too("no handle"), Cow::Borrowed(_)));
    }

    #[test]
    fn links_are_found_and_what_only_looks_like_one_is_not() {
        for link in [
            "https://t.co/Xb7Lq2ZkPa",
            "http://url_removed",
            "HTTPS://EXAMPLE.COM/A",
            "www.larkspur.example",
            "WWW.Example.com/deals",
            "bit.ly/3xYz",
            "pic.twitter.com/abc123",
            "amzn.to/",
            "ftp://files.example.org",
            "http",
            "https",
        ] {
            assert!(is_link(link), "{link}");
        }
        for not in [
            "8.5/10",
            "5/12",
            "and/or",
            "w/o",
            "24/7",
            "Booking.com",
            "e.g./i.e.",
            "N.Y./N.J.",
            "1.5/5",
            "www",
            "/r/larkspur",
            "Mr.Smith/Jones",
            "service.Thanks/cheers",
            "://",
            "x://",
            "httpd",
            "HTTP",
            "",
        ] {
            assert!(!is_link(not), "{not}");
        }
    }

    #[test]
    fn blanking_keeps_the_length_and_the_punctuation_around_a_link() {
        let text = "This update is terrible (see https://t.co/Xb7Lq2ZkPa). Nothing works!";
        let blanked = blank(text);
        assert_eq!(blanked.len(), text.len());
        let link = "https://t.co/Xb7Lq2ZkPa";
        assert_eq!(blanked, text.replace(link, &" ".repeat(link.len())));
        let at = text.find(link).unwrap();
        assert_eq!(
            find(text),
            vec![(at, at + link.len())],
            "the link without its bracket and stop"
        );
        // Every range outside the link reads the same words.
        assert_eq!(&blanked[..23], &text[..23]);
        assert_eq!(&blanked[55..], &text[55..]);
    }

    #[test]
    fn a_link_written_onto_a_word_leaves_the_word() {
        for (text, word) in [
            ("terrible.https://t.co/abc", "terrible."),
            ("[so bad](https://t.co/abc)", "[so bad]("),
            ("awful:https://t.co/abc", "awful:"),
        ] {
            let blanked = blank(text);
            assert!(blanked.starts_with(word), "{text}: {blanked:?}");
            assert!(!blanked.contains("t.co"), "{text}: {blanked:?}");
        }
    }

    #[test]
    fn the_prefilter_lets_through_every_text_find_would_blank() {
        // Each form `find` accepts, alone in a text (no `/` elsewhere to let it through).
        for text in [
            "RT @maya_k22: so good",
            "see www.acme.example now",
            "see WWW.ACME.EXAMPLE now",
            "so good http",
            "x https://t.co/a",
            "x bit.ly/3xYz",
        ] {
            assert!(!find(text).is_empty(), "{text}");
            assert!(may_have_link(text.as_bytes()), "{text}");
        }
        // A credit is "RT @handle:" one space apart, as the prefilter looks for it.
        for text in [
            "RT  @maya_k22: so good",
            "RT\t@maya_k22: so good",
            "RT\n@maya_k22: hi",
        ] {
            assert!(find(text).is_empty(), "{text:?}");
            assert!(find(&format!("{text} 5/10")).is_empty(), "{text:?}");
        }
    }

    #[test]
    fn a_text_without_links_is_borrowed_and_other_scripts_stay_whole() {
        assert!(matches!(
            blank("rated it 8.5/10, 24/7 support"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(blank("no links here"), Cow::Borrowed(_)));
        assert_eq!(blank("so good http"), "so good     ");
        assert_eq!(
            blank("see WWW.Acme.example now"),
            "see                  now"
        );
        assert!(matches!(
            blank("HTTP 404 again, the httpd log"),
            Cow::Borrowed(_)
        ));
        let text = "Café «super» → https://exemple.fr/crème?x=é très bien";
        let blanked = blank(text);
        assert_eq!(blanked.len(), text.len());
        assert!(blanked.starts_with("Café «super» → "));
        assert!(blanked.ends_with(" très bien"));
        assert!(!blanked.contains("exemple"));
        // A retweet's credit goes, a handle the writer addresses stays, and so does an "RT" that
        // credits nobody.
        let text = "RT @maya_k22: love it RT @larkspurhelp: fixed @larkspurhelp thanks RT";
        let spaces = |t: &str| " ".repeat(t.len());
        let expected = text
            .replacen("RT @maya_k22:", &spaces("RT @maya_k22:"), 1)
            .replacen("RT @larkspurhelp:", &spaces("RT @larkspurhelp:"), 1);
        assert_eq!(blank(text), expected);
        assert!(blank(text).ends_with("fixed @larkspurhelp thanks RT"));
        // Several links, a handle and a hashtag beside them.
        let text = "@larkspurhelp down again http://a.example/x #outage www.b.example";
        let expected = text
            .replace("http://a.example/x", &" ".repeat(18))
            .replace("www.b.example", &" ".repeat(13));
        assert_eq!(blank(text), expected);
    }
}
