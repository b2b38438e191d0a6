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

/// Where and why a query does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Character position in the query (0-based).
    pub position: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.position, self.message)
    }
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
    let err = |pos: usize, m: String| ParseError {
        position: pos,
        message: m,
    };
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
                    err(start, "unterminated phrase: expected a closing '\"'".into())
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
                            err(
                                start,
                                format!(
                                    "expected a number of words after {}",
                                    &w[..w.len() - n.len()]
                                ),
                            )
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
                        return Err(err(
                            start,
                            format!("unexpected '/' in {w:?}: did you mean NEAR/n?"),
                        ));
                    }
                    w if w.ends_with('*') => {
                        let stem = w.trim_end_matches('*');
                        if stem.contains('*') || stem.chars().count() < 3 {
                            return Err(err(start, format!("prefix {w:?} needs at least 3 characters before a single trailing '*'")));
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
        ParseError {
            position: self.pos(),
            message: format!("expected {expected}, found {found}"),
        }
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
            return Err(ParseError {
                position: self.pos(),
                message: "query nests deeper than 64 levels".into(),
            });
        }
        match self.peek().cloned() {
            Some(Tok::LParen) => {
                self.i += 1;
                let q = self.or(depth + 1)?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(self.error("')' to close the group"));
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
    let mut p = Parser { toks, i: 0, end };
    let q = p.or(0)?;
    if p.i < p.toks.len() {
        return Err(p.error("an operator (AND, OR, NOT, NEAR/n) or the end of the query"));
    }
    if !positive(&q) {
        return Err(ParseError {
            position: 0,
            message: "the query can never match positively: every branch needs a term that is not under NOT (a field scope alone does not match text)".into(),
        });
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
}
