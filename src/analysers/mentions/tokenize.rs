//! Splitting a message into the tokens queries are evaluated on: words, hashtags and @-mentions, each
//! with its byte span in the original text and its word position (for NEAR). URLs and e-mail
//! addresses are single tokens that plain terms never match.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Word,
    Hashtag,
    Mention,
    Url,
    Email,
}

/// One token. `start..end` covers it in the original text (with its `#` or `@`); its case-folded body
/// is `folded[fstart..fend]` of the [`Tokens`] it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    pub fstart: usize,
    pub fend: usize,
    /// Word position, counting every token.
    pub pos: u32,
}

/// The tokens of one text, with their folded bodies in one buffer.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    pub tokens: Vec<Token>,
    pub folded: String,
}

impl Tokens {
    /// The case-folded body of a token (without `#`/`@`).
    pub fn body(&self, t: &Token) -> &str {
        &self.folded[t.fstart..t.fend]
    }

    /// [`body`](Self::body) as bytes, without the checks that its ends are character boundaries
    /// (they are): what the matcher compares.
    pub fn body_bytes(&self, t: &Token) -> &[u8] {
        self.folded
            .as_bytes()
            .get(t.fstart..t.fend)
            .unwrap_or_default()
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '’'
}

fn looks_like_url(run: &str) -> bool {
    let b = run.as_bytes();
    b.get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"www.")) || b.windows(3).any(|w| w == b"://")
}

fn looks_like_email(run: &str) -> bool {
    if !run.as_bytes().contains(&b'@') {
        return false;
    }
    let run = run.trim_matches(|c: char| !is_word_char(c));
    match run.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    }
}

/// Tokenizes `text`.
pub fn tokenize(text: &str) -> Tokens {
    tokenize_runs(text, true, None)
}

/// Tokenizes `text` given [`fold`]`(text)`, which the caller has already (it is the matcher's
/// haystack): an ASCII text's bodies are ranges of it.
pub fn tokenize_folded(text: &str, folded: String) -> Tokens {
    tokenize_runs(text, true, Some(folded))
}

/// Tokenizes `text`; ASCII runs take the byte path when `bytes` is set (tests compare the two).
fn tokenize_runs(text: &str, bytes: bool, folded: Option<String>) -> Tokens {
    // An ASCII text folds as a whole, and every body is a range of it at its own offsets; any
    // other gets each body folded and appended.
    let ascii = text.is_ascii();
    let mut out = Tokens {
        tokens: Vec::with_capacity(text.len() / 5 + 1),
        folded: match folded {
            Some(f) if ascii && f.len() == text.len() => f,
            _ if ascii => text.to_ascii_lowercase(),
            _ => String::with_capacity(text.len()),
        },
    };
    let mut pos = 0u32;
    let mut push = |out: &mut Tokens, kind: Kind, start: usize, end: usize, body: &str| {
        let (fstart, fend) = if ascii {
            // `body` is a subslice of `text`: its offset is the distance between the pointers.
            let at = body.as_ptr() as usize - text.as_ptr() as usize;
            (at, at + body.len())
        } else {
            let fstart = out.folded.len();
            out.folded.push_str(&fold(body));
            let fend = out.folded.len();
            out.folded.push(' ');
            (fstart, fend)
        };
        out.tokens.push(Token {
            kind,
            start,
            end,
            fstart,
            fend,
            pos,
        });
        pos += 1;
    };
    for (run_start, run) in runs(text) {
        if looks_like_url(run) {
            push(&mut out, Kind::Url, run_start, run_start + run.len(), run);
            continue;
        }
        if looks_like_email(run) {
            let trimmed = run.trim_matches(|c: char| !is_word_char(c));
            let off = run.find(trimmed).unwrap_or(0);
            push(
                &mut out,
                Kind::Email,
                run_start + off,
                run_start + off + trimmed.len(),
                trimmed,
            );
            continue;
        }
        let mut emit = |kind, start, body_start, end| {
            push(
                &mut out,
                kind,
                run_start + start,
                run_start + end,
                &run[body_start..end],
            )
        };
        if bytes && run.is_ascii() {
            ascii_run(run, &mut emit);
        } else {
            char_run(run, &mut emit);
        }
    }
    out
}

/// A token's kind from how it starts: a sigil, `#` or `@`, or none.
fn kind_of(sigil: bool, hash: bool) -> Kind {
    match (sigil, hash) {
        (true, true) => Kind::Hashtag,
        (true, false) => Kind::Mention,
        _ => Kind::Word,
    }
}

/// The words, hashtags and @-mentions of one run: `emit(kind, start, body_start, end)` with
/// offsets into `run` (`body_start` skips the sigil).
fn char_run(run: &str, mut emit: impl FnMut(Kind, usize, usize, usize)) {
    let mut chars = run.char_indices().peekable();
    let mut prev: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        let sigil = (c == '#' || c == '@')
            && !prev.is_some_and(is_word_char)
            && chars.peek().is_some_and(|&(_, n)| is_word_char(n));
        if !(sigil || is_word_char(c)) {
            prev = Some(c);
            continue;
        }
        let body_start = if sigil { i + c.len_utf8() } else { i };
        let mut end = if sigil { body_start } else { i + c.len_utf8() };
        let mut last = c;
        while let Some(&(j, n)) = chars.peek() {
            if is_word_char(n) {
                end = j + n.len_utf8();
            } else if is_apostrophe(n) && !sigil {
                // An apostrophe inside a word ("don't", "Larkspur's") belongs to it.
                let mut look = chars.clone();
                look.next();
                if !look.peek().is_some_and(|&(_, m)| m.is_alphabetic()) {
                    break;
                }
            } else {
                break;
            }
            last = n;
            chars.next();
        }
        emit(kind_of(sigil, c == '#'), i, body_start, end);
        prev = Some(last);
    }
}

/// The bytes of a word in the tokenizer's sense: ASCII letters, digits and `_`.
const WORD_BYTE: [bool; 256] = crate::analysers::word_bytes_and(b'_');

/// The tokens of an ASCII run, by the same rules as [`char_run`] but on bytes.
fn ascii_run(run: &str, mut emit: impl FnMut(Kind, usize, usize, usize)) {
    let b = run.as_bytes();
    let word = |c: u8| WORD_BYTE[usize::from(c)];
    let mut prev: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let sigil = (c == b'#' || c == b'@')
            && !prev.is_some_and(word)
            && b.get(i + 1).is_some_and(|&n| word(n));
        if !(sigil || word(c)) {
            prev = Some(c);
            i += 1;
            continue;
        }
        let body_start = if sigil { i + 1 } else { i };
        let mut end = body_start.max(i + 1);
        let mut last = c;
        let mut j = i + 1;
        while j < b.len() {
            let n = b[j];
            if word(n) {
                end = j + 1;
            } else if n == b'\'' && !sigil && b.get(j + 1).is_some_and(u8::is_ascii_alphabetic) {
                // An apostrophe inside a word ("don't", "Larkspur's") belongs to it.
            } else {
                break;
            }
            last = n;
            j += 1;
        }
        emit(kind_of(sigil, c == b'#'), i, body_start, end);
        prev = Some(last);
        i = j;
    }
}

/// Unicode default case folding (ß and ss, ς and σ compare equal), with an ASCII fast path.
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        caseless::default_case_fold_str(s)
    }
}

/// Whitespace-separated runs with their byte offsets.
fn runs(text: &str) -> impl Iterator<Item = (usize, &str)> {
    // A run is a subslice of `text`, so its offset is the distance between the two pointers.
    text.split_whitespace()
        .map(move |run| (run.as_ptr() as usize - text.as_ptr() as usize, run))
}

/// The folded words of a string, as the tokenizer would split it (used for phrases in queries).
pub fn words(s: &str) -> Vec<&str> {
    let t = tokenize(s);
    t.tokens
        .iter()
        .filter(|t| t.kind == Kind::Word)
        .map(|t| &s[t.start..t.end])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, String, String)> {
        let t = tokenize(text);
        t.tokens
            .iter()
            .map(|k| {
                (
                    k.kind,
                    text[k.start..k.end].to_string(),
                    t.body(k).to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn words_tags_handles_urls_emails() {
        let k = kinds(
            "Hi @LarkspurHelp, #Fail! see https://x.com/larkspur or mail bob@larkspur.com. Don't",
        );
        let want = [
            (Kind::Word, "Hi", "hi"),
            (Kind::Mention, "@LarkspurHelp", "larkspurhelp"),
            (Kind::Hashtag, "#Fail", "fail"),
            (Kind::Word, "see", "see"),
            (
                Kind::Url,
                "https://x.com/larkspur",
                "https://x.com/larkspur",
            ),
            (Kind::Word, "or", "or"),
            (Kind::Word, "mail", "mail"),
            (Kind::Email, "bob@larkspur.com", "bob@larkspur.com"),
            (Kind::Word, "Don't", "don't"),
        ];
        assert_eq!(k.len(), want.len(), "{k:?}");
        for (got, want) in k.iter().zip(want) {
            assert_eq!((got.0, got.1.as_str(), got.2.as_str()), want);
        }
    }

    /// The character loop alone, for comparing the byte path against it.
    fn by_chars(text: &str) -> Vec<(Kind, usize, usize, String)> {
        let t = tokenize_runs(text, false, None);
        t.tokens
            .iter()
            .map(|k| (k.kind, k.start, k.end, t.body(k).to_string()))
            .collect()
    }

    #[test]
    fn ascii_byte_path_agrees_with_the_character_loop() {
        let mut cases = vec![
            "Hi @LarkspurHelp, #Fail! don't 'quoted' it's_ok a'b' x''y #@a @#b ##c a#b a@b @ # _x_"
                .to_string(),
        ];
        // Every string of up to 4 characters over an alphabet that exercises each rule.
        let alphabet = ['a', 'B', '1', '_', '#', '@', '\'', '.', '-'];
        let mut frontier = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for p in &frontier {
                for c in alphabet {
                    next.push(format!("{p}{c}"));
                }
            }
            cases.extend(next.iter().cloned());
            frontier = next;
        }
        for text in cases {
            // Splitting on whitespace is shared; the rules inside a run differ by path.
            assert!(text.is_ascii());
            let t = tokenize(&text);
            let bytes: Vec<_> = t
                .tokens
                .iter()
                .map(|k| (k.kind, k.start, k.end, t.body(k).to_string()))
                .collect();
            assert_eq!(bytes, by_chars(&text), "{text:?}");
        }
    }

    #[test]
    fn offsets_survive_multibyte_text() {
        let text = "Ünïcode\u{3000}LARKSPUR’s café 😍 wi-fi";
        let t = tokenize(text);
        let spans: Vec<&str> = t.tokens.iter().map(|k| &text[k.start..k.end]).collect();
        assert_eq!(spans, ["Ünïcode", "LARKSPUR’s", "café", "wi", "fi"]);
        assert_eq!(t.body(&t.tokens[0]), "ünïcode");
    }
}
