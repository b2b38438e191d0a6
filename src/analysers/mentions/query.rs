//! The boolean query language analysts write brand and product queries in (`docs/queries.md`).
//!
//! ```text
//! query   := or
//! or      := and ("OR" and)*
//! and     := unary (["AND"] unary)*          terms side by side mean AND; "AND NOT x" is AND (NOT x)
//! unary   := "NOT" unary | near
//! near    := primary (("NEAR/" n | "ONEAR/" n) primary)*
//! primary := "(" or ")" | field ":" value | term
//! term    := word | word* | "exact phrase" | #tag | @handle | raw:"Exact Text"
//! ```
//!
//! Operators are upper case; lower-case `and`/`or`/`not` are ordinary words.

use std::fmt;

/// A field a query can be scoped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The author's handle (without `@`).
    Author,
    /// The message's language (`lang:en` matches `en` and `en-GB`).
    Lang,
    /// The channel: a post's platform or a ticket's channel.
    Channel,
}

/// One leaf of a query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Term {
    /// A whole word, case-folded, matching its inflections, its hashtag and its @-mention.
    Word(String),
    /// Consecutive words, case-folded, no stemming.
    Phrase(Vec<String>),
    /// Words starting with this (case-folded) prefix.
    Prefix(String),
    /// Only this hashtag (case-folded, without `#`).
    Hashtag(String),
    /// Only this @-mention (case-folded, without `@`).
    Handle(String),
    /// This exact, case-sensitive text at word boundaries.
    Raw(String),
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    Term(Term),
    Field(Field, String),
    Not(Box<Query>),
    And(Vec<Query>),
    Or(Vec<Query>),
    /// Within `distance` words of each other; `ordered`: the left one first.
    Near {
        left: Box<Query>,
        right: Box<Query>,
        distance: u32,
        ordered: bool,
    },
}

/// Where and why a query does not parse, and what to write instead when a common slip is behind
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Character position in the query (0-based).
    pub position: usize,
    pub message: String,
    /// A corrected piece of query to write instead, for the slips analysts make most: a wildcard
    /// on a handle or tag, an unclosed quote or group, an operator in lower case, NEAR without a
    /// distance, a prefix too short.
    pub example: Option<String>,
}

impl ParseError {
    pub fn new(position: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            position,
            message: message.into(),
            example: None,
        }
    }

    fn write(mut self, example: impl Into<String>) -> ParseError {
        self.example = Some(example.into());
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.position, self.message)?;
        if let Some(example) = &self.example {
            write!(f, ". Write: {example}")?;
        }
        Ok(())
    }
}

/// The operators, in the capitals the language requires.
const OPERATORS: [&str; 5] = ["AND", "OR", "NOT", "NEAR", "ONEAR"];

/// The query with characters `start..end` replaced by `with`, shown as a window of at most 30
/// characters either side: the user's own query, corrected where it slipped.
fn corrected(chars: &[(usize, char)], start: usize, end: usize, with: &str) -> String {
    let from = start.saturating_sub(30);
    let to = (end + 30).min(chars.len());
    let piece = |a: usize, b: usize| chars[a..b].iter().map(|c| c.1).collect::<String>();
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.push_str(&piece(from, start.min(chars.len())));
    out.push_str(with);
    out.push_str(&piece(end.min(chars.len()), to));
    if to < chars.len() {
        out.push('…');
    }
    // One line, however the query was laid out in the catalog.
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The piece of `chars` from `from` up to (not including) the next ')' or the end, trimmed: what a
/// corrected example repeats of the user's own query.
fn rest_of_group(chars: &[(usize, char)], from: usize) -> String {
    chars[from.min(chars.len())..]
        .iter()
        .map(|c| c.1)
        .take_while(|&c| c != ')')
        .collect::<String>()
        .trim()
        .to_string()
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Near(u32, bool),
    Term(Term),
    Field(Field, String),
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::And => "AND".into(),
            Tok::Or => "OR".into(),
            Tok::Not => "NOT".into(),
            Tok::Near(n, false) => format!("NEAR/{n}"),
            Tok::Near(n, true) => format!("ONEAR/{n}"),
            Tok::Term(_) | Tok::Field(..) => "a term".into(),
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '\'' || c == '’' || c == '-' || c == '.'
}

use super::tokenize::fold;

/// Splits a phrase into the words the tokenizer would see.
pub(crate) fn phrase_words(s: &str) -> Vec<String> {
    super::tokenize::words(s).into_iter().map(fold).collect()
}

fn lex(src: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |pos: usize, m: String| ParseError::new(pos, m);
    while i < chars.len() {
        let (_, c) = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        match c {
            '(' => {
                out.push((start, Tok::LParen));
                i += 1;
            }
            ')' => {
                out.push((start, Tok::RParen));
                i += 1;
            }
            '"' => {
                let (text, next) = quoted(&chars, i).ok_or_else(|| {
                    let rest = rest_of_group(&chars, i + 1);
                    let words: Vec<&str> = rest.split_whitespace().collect();
                    let n = words
                        .iter()
                        .position(|w| OPERATORS.contains(w) || w.starts_with("NEAR/"))
                        .unwrap_or(words.len());
                    let phrase = words[..n].join(" ");
                    let tail = words[n..].join(" ");
                    let fixed = format!("\"{}\" {tail}", phrase.trim_end_matches('"'));
                    err(start, "unterminated phrase: expected a closing '\"'".into())
                        .write(fixed.trim().to_string())
                })?;
                let words = phrase_words(&text);
                if words.is_empty() {
                    return Err(err(
                        start,
                        "empty phrase: expected words between the quotes".into(),
                    ));
                }
                out.push((start, Tok::Term(Term::Phrase(words))));
                i = next;
            }
            '#' | '@' => {
                let mut j = i + 1;
                while j < chars.len() && is_word_char(chars[j].1) {
                    j += 1;
                }
                let body: String = chars[i + 1..j].iter().map(|x| x.1).collect();
                let body = body.trim_end_matches(['.', '-', '\'']).to_string();
                if !body.is_empty() && chars.get(j).is_some_and(|x| x.1 == '*') {
                    let what = if c == '#' { "a hashtag" } else { "a handle" };
                    return Err(err(
                        j,
                        format!("{what} ({c}{body}) matches whole and takes no '*': list the {}s, or put the '*' on the word", if c == '#' { "hashtag" } else { "handle" }),
                    )
                    .write(format!("{c}{body} OR {body}*")));
                }
                if body.is_empty() {
                    return Err(err(
                        start,
                        format!(
                            "expected a {} after '{c}'",
                            if c == '#' { "hashtag" } else { "handle" }
                        ),
                    ));
                }
                let t = if c == '#' {
                    Term::Hashtag(fold(&body))
                } else {
                    Term::Handle(fold(&body))
                };
                out.push((start, Tok::Term(t)));
                i = j;
            }
            _ if is_word_char(c) || c == '*' => {
                let mut j = i;
                while j < chars.len()
                    && (is_word_char(chars[j].1)
                        || chars[j].1 == '*'
                        || chars[j].1 == '/'
                        || chars[j].1 == ':')
                {
                    if chars[j].1 == ':' {
                        break;
                    }
                    j += 1;
                }
                let word: String = chars[i..j].iter().map(|x| x.1).collect();
                // field:value and raw:"..."
                if j < chars.len() && chars[j].1 == ':' {
                    let name = word.as_str();
                    if name == "raw" {
                        if chars.get(j + 1).map(|x| x.1) != Some('"') {
                            return Err(err(j + 1, "expected '\"' after raw:".into()));
                        }
                        let (text, next) = quoted(&chars, j + 1).ok_or_else(|| {
                            err(
                                j + 1,
                                "unterminated raw text: expected a closing '\"'".into(),
                            )
                        })?;
                        if text.trim().is_empty() {
                            return Err(err(j + 1, "empty raw text".into()));
                        }
                        out.push((start, Tok::Term(Term::Raw(text))));
                        i = next;
                        continue;
                    }
                    let field = match name.to_lowercase().as_str() {
                        "author" => Field::Author,
                        "lang" => Field::Lang,
                        "channel" => Field::Channel,
                        _ => {
                            return Err(err(
                                start,
                                format!(
                                "unknown field {name:?}: expected author:, lang:, channel: or raw:"
                            ),
                            ))
                        }
                    };
                    let mut k = j + 1;
                    if k < chars.len() && chars[k].1 == '@' {
                        k += 1;
                    }
                    let vstart = k;
                    while k < chars.len() && is_word_char(chars[k].1) {
                        k += 1;
                    }
                    if k == vstart {
                        return Err(err(j + 1, format!("expected a value after {name}:")));
                    }
                    let value: String = chars[vstart..k].iter().map(|x| x.1).collect();
                    out.push((start, Tok::Field(field, fold(&value))));
                    i = k;
                    continue;
                }
                i = j;
                match word.as_str() {
                    "AND" => out.push((start, Tok::And)),
                    "OR" => out.push((start, Tok::Or)),
                    "NOT" => out.push((start, Tok::Not)),
                    w if w.starts_with("NEAR/") || w.starts_with("ONEAR/") => {
                        let ordered = w.starts_with('O');
                        let n = &w[if ordered { 6 } else { 5 }..];
                        let n: u32 = n.parse().map_err(|_| {
                            let op = &w[..w.len() - n.len()];
                            err(start, format!("expected a number of words after {op}"))
                                .write(corrected(&chars, start, j, &format!("{op}3")))
                        })?;
                        if n == 0 || n > 100 {
                            return Err(err(
                                start,
                                "NEAR distance must be between 1 and 100 words".into(),
                            ));
                        }
                        out.push((start, Tok::Near(n, ordered)));
                    }
                    w if w.contains('/') => {
                        let (op, n) = w.split_once('/').unwrap_or((w, ""));
                        if OPERATORS[3..].iter().any(|o| o.eq_ignore_ascii_case(op)) {
                            let op = op.to_ascii_uppercase();
                            return Err(err(
                                start,
                                format!("operators are written in capitals: {w:?} is not {op}/{n}"),
                            )
                            .write(corrected(
                                &chars,
                                start,
                                j,
                                &format!("{op}/{n}"),
                            )));
                        }
                        return Err(err(
                            start,
                            format!("unexpected '/' in {w:?}: did you mean NEAR/n?"),
                        )
                        .write("a NEAR/3 b"));
                    }
                    // In capitals only: "near" is an ordinary word ("hiking near Larkspur").
                    w if w == "NEAR" || w == "ONEAR" => {
                        let op = w;
                        return Err(err(
                            start,
                            format!("{op} needs a distance in words: {op}/n, n from 1 to 100"),
                        )
                        .write(corrected(
                            &chars,
                            start,
                            j,
                            &format!("{op}/3"),
                        )));
                    }
                    w if OPERATORS[..3].iter().any(|o| o.eq_ignore_ascii_case(w)) => {
                        let op = w.to_ascii_uppercase();
                        return Err(err(
                            start,
                            format!(
                                "operators are written in capitals: {w:?} here would be a word to \
                                 match; write {op}, or quote it to match the word"
                            ),
                        )
                        .write(corrected(&chars, start, j, &op)));
                    }
                    w if w.ends_with('*') => {
                        let stem = w.trim_end_matches('*');
                        if stem.contains('*') || stem.chars().count() < 3 {
                            let e = err(start, format!("prefix {w:?} needs at least 3 characters before a single trailing '*'"));
                            let stem = stem.trim_matches('*');
                            return Err(if stem.is_empty() {
                                e.write("fib*  (a stem of 3 characters or more)")
                            } else {
                                e.write(format!(
                                    "{stem}  (the whole word), or a longer stem: {stem}…*"
                                ))
                            });
                        }
                        out.push((start, Tok::Term(Term::Prefix(fold(stem)))));
                    }
                    w if w.contains('*') => {
                        return Err(err(
                            start,
                            format!("'*' is only allowed at the end of a word, in {w:?}"),
                        ));
                    }
                    w => {
                        let words = phrase_words(w);
                        match words.len() {
                            0 => return Err(err(start, format!("{w:?} has no letters or digits"))),
                            1 => out.push((
                                start,
                                Tok::Term(Term::Word(words.into_iter().next().unwrap_or_default())),
                            )),
                            // "wi-fi" and "contoso.com" are phrases of their parts.
                            _ => out.push((start, Tok::Term(Term::Phrase(words)))),
                        }
                    }
                }
            }
            _ => {
                return Err(err(start, format!("unexpected character {c:?}")));
            }
        }
    }
    Ok(out)
}

/// Reads a double-quoted string starting at `chars[i] == '"'`; returns its text and the next index.
fn quoted(chars: &[(usize, char)], i: usize) -> Option<(String, usize)> {
    let mut j = i + 1;
    let mut s = String::new();
    while j < chars.len() {
        match chars[j].1 {
            '"' => return Some((s, j + 1)),
            '\\' if j + 1 < chars.len() => {
                s.push(chars[j + 1].1);
                j += 2;
            }
            c => {
                s.push(c);
                j += 1;
            }
        }
    }
    None
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    i: usize,
    end: usize,
    /// The query's characters, for the corrected examples of errors.
    chars: Vec<char>,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.1)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(self.end, |t| t.0)
    }

    fn error(&self, expected: &str) -> ParseError {
        let found = self
            .peek()
            .map_or_else(|| "the end of the query".to_string(), Tok::describe);
        ParseError::new(self.pos(), format!("expected {expected}, found {found}"))
    }

    fn or(&mut self, depth: usize) -> Result<Query, ParseError> {
        let mut parts = vec![self.and(depth)?];
        while self.peek() == Some(&Tok::Or) {
            self.i += 1;
            parts.push(self.and(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Query::Or(parts)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Query, ParseError> {
        let mut parts = vec![self.unary(depth)?];
        loop {
            match self.peek() {
                Some(Tok::And) => {
                    self.i += 1;
                    parts.push(self.unary(depth)?);
                }
                Some(Tok::LParen | Tok::Not | Tok::Term(_) | Tok::Field(..)) => {
                    parts.push(self.unary(depth)?);
                }
                _ => break,
            }
        }
        Ok(if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Query::And(parts)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Query, ParseError> {
        if self.peek() == Some(&Tok::Not) {
            self.i += 1;
            return Ok(Query::Not(Box::new(self.unary(depth + 1)?)));
        }
        self.near(depth)
    }

    fn near(&mut self, depth: usize) -> Result<Query, ParseError> {
        let mut left = self.primary(depth)?;
        while let Some(Tok::Near(n, ordered)) = self.peek().cloned() {
            self.i += 1;
            let right = self.primary(depth)?;
            left = Query::Near {
                left: Box::new(left),
                right: Box::new(right),
                distance: n,
                ordered,
            };
        }
        Ok(left)
    }

    fn primary(&mut self, depth: usize) -> Result<Query, ParseError> {
        if depth > 64 {
            return Err(ParseError::new(
                self.pos(),
                "query nests deeper than 64 levels",
            ));
        }
        match self.peek().cloned() {
            Some(Tok::LParen) => {
                let open = self.pos();
                self.i += 1;
                let q = self.or(depth + 1)?;
                if self.peek() != Some(&Tok::RParen) {
                    let inside: String = self.chars
                        [(open + 1).min(self.chars.len())..self.pos().min(self.chars.len())]
                        .iter()
                        .collect();
                    return Err(self
                        .error(&format!(
                            "')' to close the group opened at character {open}"
                        ))
                        .write(format!("({})", inside.trim())));
                }
                self.i += 1;
                Ok(q)
            }
            Some(Tok::Term(t)) => {
                self.i += 1;
                Ok(Query::Term(t))
            }
            Some(Tok::Field(f, v)) => {
                self.i += 1;
                Ok(Query::Field(f, v))
            }
            _ => Err(self.error("a term, a phrase or '('")),
        }
    }
}

/// Parses a query and checks it can match positively.
pub fn parse(src: &str) -> Result<Query, ParseError> {
    let toks = lex(src)?;
    let end = src.chars().count();
    let chars: Vec<char> = src.chars().collect();
    let mut p = Parser {
        toks,
        i: 0,
        end,
        chars,
    };
    let q = p.or(0)?;
    if p.peek() == Some(&Tok::RParen) {
        let at = p.pos();
        let without: String = p
            .chars
            .iter()
            .enumerate()
            .filter(|&(k, _)| k != at)
            .map(|(_, c)| c)
            .collect();
        return Err(ParseError::new(
            at,
            "')' closes no group: remove it, or open the group with '('",
        )
        .write(without.trim().to_string()));
    }
    if p.i < p.toks.len() {
        return Err(p.error("an operator (AND, OR, NOT, NEAR/n) or the end of the query"));
    }
    if !positive(&q) {
        return Err(ParseError::new(
            0,
            "the query can never match positively: every branch needs a term that is not under NOT (a field scope alone does not match text)",
        ));
    }
    Ok(q)
}

/// Whether a match of `q` always includes at least one positive term (so a presearch on its terms
/// finds every message it can match).
pub fn positive(q: &Query) -> bool {
    match q {
        Query::Term(_) => true,
        Query::Field(..) | Query::Not(_) => false,
        Query::And(parts) => parts.iter().any(positive),
        Query::Or(parts) => parts.iter().all(positive),
        Query::Near { left, right, .. } => positive(left) && positive(right),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Query {
        Query::Term(Term::Word(s.into()))
    }

    #[test]
    fn precedence_and_implicit_and() {
        assert_eq!(
            parse("a b OR c").unwrap(),
            Query::Or(vec![Query::And(vec![w("a"), w("b")]), w("c")])
        );
        assert_eq!(
            parse("a AND NOT b").unwrap(),
            Query::And(vec![w("a"), Query::Not(Box::new(w("b")))])
        );
        assert_eq!(
            parse("(a OR b) NEAR/3 c").unwrap(),
            Query::Near {
                left: Box::new(Query::Or(vec![w("a"), w("b")])),
                right: Box::new(w("c")),
                distance: 3,
                ordered: false
            }
        );
    }

    #[test]
    fn terms() {
        assert_eq!(parse("Laptop").unwrap(), w("laptop"));
        assert_eq!(
            parse("#Fail").unwrap(),
            Query::Term(Term::Hashtag("fail".into()))
        );
        assert_eq!(
            parse("@ContosoHelp").unwrap(),
            Query::Term(Term::Handle("contosohelp".into()))
        );
        assert_eq!(
            parse("lapt*").unwrap(),
            Query::Term(Term::Prefix("lapt".into()))
        );
        assert_eq!(
            parse("raw:\"LI\"").unwrap(),
            Query::Term(Term::Raw("LI".into()))
        );
        assert_eq!(
            parse("\"Contoso  Cloud\"").unwrap(),
            Query::Term(Term::Phrase(vec!["contoso".into(), "cloud".into()]))
        );
        assert_eq!(
            parse("x lang:en channel:twitter author:@bob").unwrap(),
            Query::And(vec![
                w("x"),
                Query::Field(Field::Lang, "en".into()),
                Query::Field(Field::Channel, "twitter".into()),
                Query::Field(Field::Author, "bob".into()),
            ])
        );
    }

    #[test]
    fn errors_say_where_and_what() {
        let e = parse("(a OR b").unwrap_err();
        assert_eq!(e.position, 7);
        assert!(e.message.contains("')'"), "{e}");
        let e = parse("a OR").unwrap_err();
        assert!(e.message.contains("expected a term"), "{e}");
        assert!(parse("NOT a").unwrap_err().message.contains("never match"));
        assert!(parse("a OR NOT b")
            .unwrap_err()
            .message
            .contains("never match"));
        assert!(parse("lang:en").is_err());
        assert!(parse("ab*").unwrap_err().message.contains("3 characters"));
        assert!(parse("a NEAR/x b").is_err());
        assert!(parse("\"open").is_err());
        assert!(parse("foo:bar")
            .unwrap_err()
            .message
            .contains("unknown field"));
        assert!(parse(")").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn common_slips_get_a_corrected_example() {
        let example = |q: &str| {
            let e = parse(q).unwrap_err();
            (
                e.position,
                e.example
                    .unwrap_or_else(|| panic!("no example for {q:?}: {}", e.message)),
            )
        };
        assert_eq!(
            example("brightwave OR @brightwave*"),
            (25, "@brightwave OR brightwave*".into())
        );
        assert_eq!(
            example("#brightwave*"),
            (11, "#brightwave OR brightwave*".into())
        );
        assert_eq!(
            example("\"cloud drive OR larkspur"),
            (0, "\"cloud drive\" OR larkspur".into())
        );
        assert_eq!(
            example("(fiber OR broadband"),
            (19, "(fiber OR broadband)".into())
        );
        assert_eq!(
            example("larkspur) OR fiber"),
            (8, "larkspur OR fiber".into())
        );
        assert_eq!(
            example("fiber or broadband"),
            (6, "fiber OR broadband".into())
        );
        assert_eq!(
            example("fiber and not copper"),
            (6, "fiber AND not copper".into())
        );
        assert_eq!(
            example("larkspur NEAR fiber"),
            (9, "larkspur NEAR/3 fiber".into())
        );
        assert_eq!(
            example("larkspur near/2 fiber"),
            (9, "larkspur NEAR/2 fiber".into())
        );
        assert_eq!(
            example("larkspur NEAR/ fiber"),
            (9, "larkspur NEAR/3 fiber".into())
        );
        assert!(example("ab*").1.contains("ab"));
        // Quoted, the words are words; in capitals, operators.
        assert!(parse("\"or\" AND fiber").is_ok());
        assert!(parse("fiber OR broadband").is_ok());
        assert!(parse("hiking near larkspur").is_ok(), "\"near\" is a word");
        // The message reads as one line: where, what, and what to write.
        let e = parse("fiber or broadband").unwrap_err().to_string();
        assert!(
            e.starts_with("at character 6: operators are written in capitals"),
            "{e}"
        );
        assert!(e.ends_with(". Write: fiber OR broadband"), "{e}");
    }
}
