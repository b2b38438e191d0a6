//! Compiling a catalog into one matcher, and finding every mention in a message.
//!
//! As in Lucene's Monitor, all queries share one presearcher: an Aho-Corasick automaton over an
//! *anchor* of every term that is not under NOT (a substring every match of the term contains, in
//! the case-folded text). A message is scanned once; only queries with an anchor hit are evaluated
//! on its tokens. Anchors may over-select (they are substrings, not words) but never miss: every
//! match of a query includes a positive term, and every match of a term contains its anchor.

use std::fmt;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use rust_stemmers::{Algorithm, Stemmer};

use super::query::{self, Field, Query, Term};
use super::tokenize::{fold, tokenize_folded, Kind, Token, Tokens};
use crate::catalog::Catalog;
use crate::interaction::Interaction;
use crate::types::Mention;
use crate::types::Span;

/// A query that does not compile: whose, where and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// `brand <id>` or `product <id>`.
    pub owner: String,
    pub error: query::ParseError,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: query {}", self.owner, self.error)
    }
}

/// All the query errors of a catalog, reported at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CompileErrors(pub Vec<QueryError>);

impl fmt::Display for CompileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Who a query belongs to.
#[derive(Debug, Clone)]
struct Owner {
    brand: String,
    /// The brand's or the product's name in the catalog: how a helpdesk's product field may
    /// write it.
    name: String,
    product: Option<String>,
    line: Option<String>,
    competitor: bool,
}

/// A term compiled for matching.
#[derive(Debug, Clone)]
struct CTerm {
    term: Term,
    /// English stem of a `Word` term.
    stem: String,
    /// Bytes the word and its English stem share at the start: a token can only stem to the stem
    /// if it starts with them.
    stem_prefix: usize,
    /// Automaton pattern of this term's anchor: a term whose anchor is not in the text can't match.
    pattern: u32,
}

/// A query tree whose leaves index `Matcher::terms`.
#[derive(Debug, Clone)]
enum Node {
    Term(u32),
    Field(Field, String),
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
    Near {
        left: Box<Node>,
        right: Box<Node>,
        distance: u32,
        ordered: bool,
    },
}

/// A hit of (part of) a query: token positions and bytes it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hit {
    first: u32,
    last: u32,
    start: usize,
    end: usize,
}

/// Up to this many anchor patterns the presearcher is a full DFA: one table lookup per byte, which
/// made the whole analyser about a quarter faster on the sample catalog. Beyond it the DFA's tables
/// outgrow the caches and memory (100k queries: 230 MB and about half the throughput), so the
/// automaton is left to aho-corasick's own choice.
const DFA_MAX_PATTERNS: usize = 2_000;

/// Up to this many anchor patterns a message's found patterns are also kept as a bitset.
const SEEN_BITS_MAX_PATTERNS: usize = 4096;

/// The company a message was sent to: its brand's owner, and the product and product line the
/// message names it by ([`Matcher::add_recipient`]).
type Recipient<'m> = (&'m Owner, Option<String>, Option<String>);

/// The compiled catalog.
#[derive(Debug)]
pub struct Matcher {
    owners: Vec<Owner>,
    /// A ticket's recipient looked up without a scan of every query ([`Matcher::add_recipient`]):
    /// each brand id's brand owner, and each product's owners by lower-cased id and name.
    brands: std::collections::HashMap<String, usize>,
    products: std::collections::HashMap<String, Vec<usize>>,
    queries: Vec<Node>,
    terms: Vec<CTerm>,
    automaton: Option<AhoCorasick>,
    /// For each automaton pattern, the queries it makes candidates.
    postings: Vec<Vec<u32>>,
}

/// Compile-time tables: anchor text to automaton pattern, and each distinct term to its id (a
/// term written in several queries is compiled once, so a message evaluates it once: "larkspur"
/// in every product query of the brand).
#[derive(Default)]
struct Interned {
    patterns: std::collections::HashMap<String, u32>,
    terms: std::collections::HashMap<Term, u32>,
}

fn algorithm(lang: Option<&str>) -> Algorithm {
    let code = lang
        .and_then(|l| l.split(['-', '_']).next())
        .map(str::to_ascii_lowercase);
    match code.as_deref() {
        Some("ar") => Algorithm::Arabic,
        Some("da") => Algorithm::Danish,
        Some("nl") => Algorithm::Dutch,
        Some("fi") => Algorithm::Finnish,
        Some("fr") => Algorithm::French,
        Some("de") => Algorithm::German,
        Some("el") => Algorithm::Greek,
        Some("hu") => Algorithm::Hungarian,
        Some("it") => Algorithm::Italian,
        Some("no" | "nb" | "nn") => Algorithm::Norwegian,
        Some("pt") => Algorithm::Portuguese,
        Some("ro") => Algorithm::Romanian,
        Some("ru") => Algorithm::Russian,
        Some("es") => Algorithm::Spanish,
        Some("sv") => Algorithm::Swedish,
        Some("ta") => Algorithm::Tamil,
        Some("tr") => Algorithm::Turkish,
        _ => Algorithm::English,
    }
}

/// The longest common prefix of two strings, on character boundaries.
fn common_prefix<'a>(a: &'a str, b: &str) -> &'a str {
    let mut end = 0;
    for ((i, x), y) in a.char_indices().zip(b.chars()) {
        if x != y {
            break;
        }
        end = i + x.len_utf8();
    }
    &a[..end]
}

impl Matcher {
    /// Compiles every query of the catalog; reports every error at once.
    pub fn compile(catalog: &Catalog) -> Result<Matcher, CompileErrors> {
        let english = Stemmer::create(Algorithm::English);
        let mut m = Matcher {
            owners: Vec::new(),
            brands: std::collections::HashMap::new(),
            products: std::collections::HashMap::new(),
            queries: Vec::new(),
            terms: Vec::new(),
            automaton: None,
            postings: Vec::new(),
        };
        let mut errors = Vec::new();
        // Every term has a pattern; postings only for the selected ones.
        let mut interned = Interned::default();
        let mut add =
            |m: &mut Matcher, owner: Owner, label: String, src: &str| match query::parse(src) {
                Ok(q) => {
                    let id = m.queries.len() as u32;
                    let node = m.lower(&q, &english, &mut interned);
                    let mut mine = m.anchors(&node).unwrap_or_default();
                    mine.sort();
                    mine.dedup();
                    for a in mine {
                        let pattern = interned.patterns[&a] as usize;
                        m.postings[pattern].push(id);
                    }
                    m.queries.push(node);
                    m.owners.push(owner);
                }
                Err(error) => errors.push(QueryError {
                    owner: label,
                    error,
                }),
            };
        for b in &catalog.brands {
            add(
                &mut m,
                Owner {
                    brand: b.id.clone(),
                    name: b.name.clone(),
                    product: None,
                    line: None,
                    competitor: b.competitor,
                },
                format!("brand {}", b.id),
                &b.query,
            );
            for p in &b.products {
                add(
                    &mut m,
                    Owner {
                        brand: b.id.clone(),
                        name: p.name.clone(),
                        product: Some(p.id.clone()),
                        line: p.line.clone(),
                        competitor: b.competitor,
                    },
                    format!("product {}", p.id),
                    &p.query,
                );
            }
        }
        if !errors.is_empty() {
            return Err(CompileErrors(errors));
        }
        for (k, o) in m.owners.iter().enumerate() {
            match &o.product {
                None => {
                    m.brands.entry(o.brand.clone()).or_insert(k);
                }
                Some(id) => {
                    for key in [id.to_lowercase(), o.name.to_lowercase()] {
                        let at = m.products.entry(key).or_default();
                        if !at.contains(&k) {
                            at.push(k);
                        }
                    }
                }
            }
        }
        let mut by_id: Vec<(u32, String)> = interned
            .patterns
            .into_iter()
            .map(|(a, id)| (id, a))
            .collect();
        by_id.sort_unstable();
        let patterns: Vec<String> = by_id.into_iter().map(|(_, a)| a).collect();
        if !patterns.is_empty() {
            let ac = AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .kind(
                    (patterns.len() <= DFA_MAX_PATTERNS)
                        .then_some(aho_corasick::AhoCorasickKind::DFA),
                )
                .build(&patterns)
                .map_err(|e| {
                    CompileErrors(vec![QueryError {
                        owner: "catalog".into(),
                        error: query::ParseError::new(
                            0,
                            format!("presearcher could not be built: {e}"),
                        ),
                    }])
                })?;
            m.automaton = Some(ac);
        }
        Ok(m)
    }

    /// Number of compiled queries (brands and products).
    pub fn len(&self) -> usize {
        self.queries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queries.is_empty()
    }

    /// Turns a parsed query into a node, interning its terms and their anchor patterns.
    fn lower(&mut self, q: &Query, english: &Stemmer, interned: &mut Interned) -> Node {
        match q {
            Query::Term(t) => {
                if let Some(&id) = interned.terms.get(t) {
                    return Node::Term(id);
                }
                let stem = match t {
                    Term::Word(w) => english.stem(w).into_owned(),
                    _ => String::new(),
                };
                let stem_prefix = match t {
                    Term::Word(w) => common_prefix(w, &stem).len(),
                    _ => 0,
                };
                let mut term = CTerm {
                    term: t.clone(),
                    stem,
                    stem_prefix,
                    pattern: 0,
                };
                let anchor = self.anchor(&term);
                let next = interned.patterns.len() as u32;
                term.pattern = *interned.patterns.entry(anchor).or_insert_with(|| {
                    self.postings.push(Vec::new());
                    next
                });
                self.terms.push(term);
                let id = self.terms.len() as u32 - 1;
                interned.terms.insert(t.clone(), id);
                Node::Term(id)
            }
            Query::Field(f, v) => Node::Field(*f, v.clone()),
            Query::Not(x) => Node::Not(Box::new(self.lower(x, english, interned))),
            Query::And(xs) => Node::And(
                xs.iter()
                    .map(|x| self.lower(x, english, interned))
                    .collect(),
            ),
            Query::Or(xs) => Node::Or(
                xs.iter()
                    .map(|x| self.lower(x, english, interned))
                    .collect(),
            ),
            Query::Near {
                left,
                right,
                distance,
                ordered,
            } => Node::Near {
                left: Box::new(self.lower(left, english, interned)),
                right: Box::new(self.lower(right, english, interned)),
                distance: *distance,
                ordered: *ordered,
            },
        }
    }

    /// The anchor of a term: a substring of the folded text that every match of the term contains.
    fn anchor(&self, t: &CTerm) -> String {
        let a = match &t.term {
            Term::Word(w) => common_prefix(w, &t.stem).to_string(),
            Term::Phrase(ws) => ws
                .iter()
                .max_by_key(|w| w.len())
                .cloned()
                .unwrap_or_default(),
            Term::Prefix(p) | Term::Hashtag(p) | Term::Handle(p) => p.clone(),
            Term::Raw(r) => fold(r),
        };
        match (&t.term, a.is_empty()) {
            // A stem that shares no prefix with its word: the word itself still anchors it.
            (Term::Word(w), true) => w.clone(),
            _ => a,
        }
    }

    /// A set of anchors one of which every match of `node` contains, or `None` when the node can
    /// match without any text (NOT, a field scope). For a conjunction (AND, NEAR) one required part
    /// suffices, so the most selective one is kept: the set whose shortest anchor is longest, then
    /// the smallest set. This keeps common words ("fiber" in `acme NEAR/3 fiber`) out of the
    /// presearcher.
    fn anchors(&self, node: &Node) -> Option<Vec<String>> {
        fn better(a: &[String], b: &[String]) -> bool {
            let short = |x: &[String]| x.iter().map(String::len).min().unwrap_or(0);
            (short(a), std::cmp::Reverse(a.len())) > (short(b), std::cmp::Reverse(b.len()))
        }
        match node {
            Node::Term(id) => Some(vec![self.anchor(&self.terms[*id as usize])]),
            Node::Field(..) | Node::Not(_) => None,
            Node::Or(xs) => {
                let mut all = Vec::new();
                for x in xs {
                    all.extend(self.anchors(x)?);
                }
                Some(all)
            }
            Node::And(xs) => {
                xs.iter()
                    .filter_map(|x| self.anchors(x))
                    .reduce(|a, b| if better(&b, &a) { b } else { a })
            }
            Node::Near { left, right, .. } => match (self.anchors(left), self.anchors(right)) {
                (Some(a), Some(b)) => Some(if better(&b, &a) { b } else { a }),
                (a, b) => a.or(b),
            },
        }
    }

    /// Finds every brand and product mention in an interaction, in the language its source gives.
    pub fn find(&self, interaction: &Interaction) -> Vec<Mention> {
        self.find_in(interaction, interaction.language.as_deref())
    }

    /// Marks the mentions of the company a message was sent to as its recipient, or, when its
    /// words name that brand nowhere, appends a mention of it with no words (an empty span at 0,
    /// [`Mention::spanless`]), last, with the product the message names it by. `language` is
    /// the message's, as [`Matcher::find_in`] takes it.
    ///
    /// A support ticket's company is its `brand` ([`Interaction::recipient`], a catalog brand
    /// id); without one the catalog lists, it is the brand of its product field when that is one
    /// of our own brands' products (by id or name, in any case): a product's ticket goes to the
    /// company that makes it, and a rival's product in our helpdesk's form names no company the
    /// ticket went to. A post's is the account it replies to ([`Interaction::reply_to`]) when
    /// the catalog's queries, read on that `@handle` alone as a post that only tags it, find one
    /// brand in it (its product too, if a product's query does) and the post's author is no
    /// account of that brand: a reply to `@larkspurhelp`'s post is written to Larkspur as a post
    /// starting "@larkspurhelp" is, unless @larkspurhelp wrote it. Nothing the catalog
    /// lists: nothing changes. The readings per brand then give the company written to what
    /// the customer asks of it, beside what they say of the rivals they name.
    pub fn add_recipient(
        &self,
        interaction: &Interaction,
        language: Option<&str>,
        mentions: &mut Vec<Mention>,
    ) {
        let Some((brand, product, line)) = self
            .ticket_recipient(interaction)
            .or_else(|| self.reply_recipient(interaction, language))
        else {
            return;
        };
        let mut named = false;
        for m in mentions.iter_mut().filter(|m| m.brand == brand.brand) {
            m.recipient = true;
            named = true;
        }
        if !named {
            mentions.push(Mention {
                brand: brand.brand.clone(),
                product,
                line,
                competitor: brand.competitor,
                span: Span::new("", 0, 0),
                sentiment: None,
                intents: Vec::new(),
                journey_phase: None,
                recipient: true,
            });
        }
    }

    /// A ticket's company ([`Matcher::add_recipient`]): its brand's owner, and its product and
    /// line.
    fn ticket_recipient(&self, interaction: &Interaction) -> Option<Recipient<'_>> {
        // A product of the ticket's brand, else (no brand, or one the catalog does not list)
        // of one of our own brands: a rival's product in our helpdesk's form names no company
        // the ticket went to.
        let product_of = |brand: Option<&str>| {
            let hint = interaction.product_hint.as_deref()?.trim().to_lowercase();
            self.products
                .get(&hint)?
                .iter()
                .map(|&k| &self.owners[k])
                .find(|o| brand.map_or(!o.competitor, |b| o.brand == b))
        };
        let brand_of = |id: &str| self.brands.get(id).map(|&k| &self.owners[k]);
        let (brand, product) = match interaction.recipient.as_deref().and_then(brand_of) {
            Some(b) => (b, product_of(Some(&b.brand))),
            None => {
                let p = product_of(None)?;
                (brand_of(&p.brand)?, Some(p))
            }
        };
        Some((
            brand,
            product.and_then(|p| p.product.clone()),
            product.and_then(|p| p.line.clone()),
        ))
    }

    /// The brand of the account a post replies to ([`Matcher::add_recipient`]), unless the
    /// post's author is an account of that brand too (a brand's thread of updates).
    fn reply_recipient(
        &self,
        interaction: &Interaction,
        language: Option<&str>,
    ) -> Option<Recipient<'_>> {
        if interaction.kind != crate::interaction::Kind::SocialPost {
            return None;
        }
        let to = self.account_brand(interaction, interaction.reply_to.as_deref()?, language)?;
        let author = interaction.party.handle.as_deref();
        let own = author.and_then(|h| self.account_brand(interaction, h, language));
        if own.is_some_and(|(b, ..)| b.brand == to.0.brand) {
            return None;
        }
        Some(to)
    }

    /// The brand whose account `handle` is: the one brand whose queries match a post of
    /// `interaction`'s source that is only `@handle`, and the product a product query of that
    /// brand matches there. A handle no query matches (a person's), one that two brands' queries
    /// match, or one that is no single handle as texts write them (letters, digits and `_`:
    /// "larkspur-fan" would read as `@larkspur`) names none.
    fn account_brand(
        &self,
        interaction: &Interaction,
        handle: &str,
        language: Option<&str>,
    ) -> Option<Recipient<'_>> {
        let handle = handle.trim();
        let handle = handle.strip_prefix('@').unwrap_or(handle);
        if handle.is_empty() || !handle.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
        // The post's source and author (a query may scope `channel:` or `author:`), not its
        // words.
        let probe = Interaction {
            kind: interaction.kind,
            id: String::new(),
            channel: interaction.channel.clone(),
            party: interaction.party.clone(),
            occurred_at: interaction.occurred_at,
            language: interaction.language.clone(),
            text: format!("@{handle}"),
            product_hint: None,
            recipient: None,
            reply_to: None,
            status: None,
        };
        let found = self.find_in(&probe, language);
        let first = found.first()?;
        if found.iter().any(|m| m.brand != first.brand) {
            return None;
        }
        let brand = &self.owners[*self.brands.get(&first.brand)?];
        let product = found.iter().find(|m| m.product.is_some());
        Some((
            brand,
            product.and_then(|m| m.product.clone()),
            product.and_then(|m| m.line.clone()),
        ))
    }

    /// Finds every brand and product mention in an interaction whose language is `language` (a
    /// BCP-47 tag: it picks the stemmer and answers `lang:` scopes), whatever its source says.
    pub fn find_in(&self, interaction: &Interaction, language: Option<&str>) -> Vec<Mention> {
        let Some(ac) = &self.automaton else {
            return Vec::new();
        };
        let text = interaction.text.as_str();
        let haystack = fold(text);
        let mut seen: Vec<u32> = Vec::with_capacity(16);
        seen.extend(
            ac.find_overlapping_iter(&haystack)
                .map(|hit| hit.pattern().as_u32()),
        );
        seen.sort_unstable();
        seen.dedup();
        let mut candidates: Vec<u32> = Vec::with_capacity(16);
        for p in &seen {
            candidates.extend_from_slice(&self.postings[*p as usize]);
        }
        if candidates.is_empty() {
            return Vec::new();
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut ctx = Ctx::new(interaction, language, haystack, seen, self.postings.len());
        let mut found: Vec<Mention> = Vec::new();
        let mut matched: Vec<(u32, Vec<Hit>)> = Vec::new();
        // One buffer evaluates every candidate; a match takes a copy of its exact size. (Most
        // candidates don't match, and a vector per candidate grew for each.)
        let mut hits: Vec<Hit> = Vec::with_capacity(16);
        for q in candidates {
            hits.clear();
            if self.eval(&self.queries[q as usize], &mut ctx, &mut hits) {
                matched.push((q, hits.clone()));
            }
        }
        // A hit that spans another brand's hit ("corvid NEAR/4 fiber" over "Corvid Telecom to
        // Larkspur Fiber") does not make the mention, when the query has hits that don't: the
        // mention is "Corvid Telecom", and "Larkspur Fiber" is Larkspur's alone.
        let spans_other = |brand: &str, h: &Hit| {
            matched.iter().any(|(q, hs)| {
                self.owners[*q as usize].brand != brand
                    && hs.iter().any(|g| {
                        h.start <= g.start && g.end <= h.end && (h.start, h.end) != (g.start, g.end)
                    })
            })
        };
        // Only a message with two brands or more can have such hits (most have one).
        let brand_of = |q: u32| self.owners[q as usize].brand.as_str();
        let several = matched.first().is_some_and(|(first, _)| {
            matched
                .iter()
                .any(|(q, _)| brand_of(*q) != brand_of(*first))
        });
        let mut trimmed: Vec<Option<Vec<Hit>>> = Vec::new();
        if several {
            trimmed = matched
                .iter()
                .map(|(q, hits)| {
                    let own: Vec<Hit> = hits
                        .iter()
                        .filter(|h| !spans_other(brand_of(*q), h))
                        .copied()
                        .collect();
                    (!own.is_empty() && own.len() < hits.len()).then_some(own)
                })
                .collect();
        }
        for (k, (q, hits)) in matched.into_iter().enumerate() {
            let mut hits = trimmed.get_mut(k).and_then(Option::take).unwrap_or(hits);
            let owner = &self.owners[q as usize];
            hits.sort_by_key(|h| (h.start, h.end));
            // One mention per region: overlapping hits of one query merge.
            let mut merged: Vec<(usize, usize)> = Vec::new();
            for h in hits.iter() {
                match merged.last_mut() {
                    Some(last) if h.start < last.1 => last.1 = last.1.max(h.end),
                    _ => merged.push((h.start, h.end)),
                }
            }
            for (start, end) in merged {
                found.push(Mention {
                    brand: owner.brand.clone(),
                    product: owner.product.clone(),
                    line: owner.line.clone(),
                    competitor: owner.competitor,
                    span: Span::new(text, start, end),
                    sentiment: None,
                    intents: Vec::new(),
                    journey_phase: None,
                    recipient: false,
                });
            }
        }
        // A brand-only mention that overlaps a product mention of the same brand says nothing more.
        let products: Vec<(String, usize, usize)> = found
            .iter()
            .filter(|m| m.product.is_some())
            .map(|m| (m.brand.clone(), m.span.start, m.span.end))
            .collect();
        found.retain(|m| {
            m.product.is_some()
                || !products
                    .iter()
                    .any(|(b, s, e)| *b == m.brand && m.span.start < *e && *s < m.span.end)
        });
        found.sort_by(|a, b| {
            (a.span.start, a.span.end, &a.brand, &a.product).cmp(&(
                b.span.start,
                b.span.end,
                &b.brand,
                &b.product,
            ))
        });
        found
    }

    /// Whether `node` is a term whose anchor is not in the text (so it can't match).
    #[inline(always)]
    fn unseen_term(&self, node: &Node, ctx: &Ctx) -> bool {
        match node {
            Node::Term(id) => self
                .terms
                .get(*id as usize)
                .is_some_and(|t| !ctx.seen(t.pattern)),
            _ => false,
        }
    }

    /// Evaluates `node` on a message. On a match it appends the match's hits to `out` (possibly
    /// none: a NOT or a field scope matches without text) and returns true; otherwise it leaves
    /// `out` as it found it. One buffer serves the whole tree, so evaluation allocates only when
    /// the buffer grows.
    fn eval(&self, node: &Node, ctx: &mut Ctx, out: &mut Vec<Hit>) -> bool {
        match node {
            Node::Term(id) => {
                let term = &self.terms[*id as usize];
                if !ctx.seen(term.pattern) {
                    // Its anchor is not in the text: it can't match. (Most NOT terms end here.)
                    return false;
                }
                // A term shared by several queries is scanned for once per message.
                let (a, b) = ctx.term_hits(*id, term);
                out.extend_from_slice(&ctx.memo_hits[a..b]);
                a < b
            }
            Node::Field(f, v) => ctx.field(*f, v),
            Node::Not(x) => {
                let mark = out.len();
                let matched = self.eval(x, ctx, out);
                out.truncate(mark);
                !matched
            }
            Node::And(xs) => {
                let mark = out.len();
                for x in xs {
                    if !self.eval(x, ctx, out) {
                        out.truncate(mark);
                        return false;
                    }
                }
                true
            }
            Node::Or(xs) => {
                let mut any = false;
                for x in xs {
                    // Most alternatives are terms whose anchor is not in the text: skip them
                    // without the call (a frame of the whole evaluator).
                    if !self.unseen_term(x, ctx) {
                        any |= self.eval(x, ctx, out);
                    }
                }
                any
            }
            Node::Near {
                left,
                right,
                distance,
                ordered,
            } => {
                let mark = out.len();
                if self.unseen_term(left, ctx) || self.unseen_term(right, ctx) {
                    return false;
                }
                if !self.eval(left, ctx, out) {
                    return false;
                }
                let mid = out.len();
                if !self.eval(right, ctx, out) {
                    out.truncate(mark);
                    return false;
                }
                let end = out.len();
                for i in mark..mid {
                    for j in mid..end {
                        let (a, b) = (out[i], out[j]);
                        let gap = if a.last < b.first {
                            b.first - a.last - 1
                        } else if b.last < a.first {
                            if *ordered {
                                continue;
                            }
                            a.first - b.last - 1
                        } else {
                            // Overlapping hits are one region, not two things near each other.
                            continue;
                        };
                        if gap < *distance {
                            out.push(Hit {
                                first: a.first.min(b.first),
                                last: a.last.max(b.last),
                                start: a.start.min(b.start),
                                end: a.end.max(b.end),
                            });
                        }
                    }
                }
                // Keep only the pairs: the operands' own hits are not hits of the NEAR.
                out.drain(mark..end);
                out.len() > mark
            }
        }
    }
}

/// One message prepared for evaluation: its tokens, stemmer and fields.
struct Ctx<'a> {
    text: &'a str,
    tokens: Tokens,
    stemmer: Stemmer,
    english: bool,
    /// Stems of the tokens, computed on first use.
    stems: Vec<std::cell::OnceCell<String>>,
    interaction: &'a Interaction,
    /// The message's language tag (the source's or the detected one).
    language: Option<&'a str>,
    /// The automaton patterns found in the text, sorted.
    seen: Vec<u32>,
    /// The same, one bit per pattern, for catalogs of up to [`SEEN_BITS_MAX_PATTERNS`] patterns.
    seen_bits: Vec<u64>,
    /// The terms evaluated so far: their hits are `memo_hits[a..b]`.
    memo: rustc_hash::FxHashMap<u32, (usize, usize)>,
    memo_hits: Vec<Hit>,
}

impl<'a> Ctx<'a> {
    /// Whether automaton pattern `p` occurs in the text.
    fn seen(&self, p: u32) -> bool {
        if self.seen_bits.is_empty() {
            self.seen.binary_search(&p).is_ok()
        } else {
            self.seen_bits
                .get(p as usize / 64)
                .is_some_and(|w| w & (1 << (p % 64)) != 0)
        }
    }

    fn new(
        interaction: &'a Interaction,
        language: Option<&'a str>,
        folded: String,
        seen: Vec<u32>,
        patterns: usize,
    ) -> Ctx<'a> {
        // A bit per pattern is one load per test, but zeroing it costs per message: for large
        // catalogs the sorted list is searched instead.
        let mut seen_bits = Vec::new();
        if patterns <= SEEN_BITS_MAX_PATTERNS {
            seen_bits.resize(patterns.div_ceil(64), 0u64);
            for &p in &seen {
                if let Some(w) = seen_bits.get_mut(p as usize / 64) {
                    *w |= 1 << (p % 64);
                }
            }
        }
        let tokens = tokenize_folded(&interaction.text, folded);
        let algo = algorithm(language);
        Ctx {
            text: &interaction.text,
            stems: vec![std::cell::OnceCell::new(); tokens.tokens.len()],
            tokens,
            stemmer: Stemmer::create(algo),
            english: matches!(algo, Algorithm::English),
            interaction,
            language,
            seen,
            seen_bits,
            // Room for the terms of a few candidate queries: growing it by rehashing cost more
            // than the lookups.
            memo: rustc_hash::FxHashMap::with_capacity_and_hasher(32, Default::default()),
            memo_hits: Vec::with_capacity(32),
        }
    }

    fn stem(&self, i: usize) -> &str {
        self.stems[i].get_or_init(|| {
            self.stemmer
                .stem(self.tokens.body(&self.tokens.tokens[i]))
                .into_owned()
        })
    }

    fn hit(t: &Token) -> Hit {
        Hit {
            first: t.pos,
            last: t.pos,
            start: t.start,
            end: t.end,
        }
    }

    /// The hits of term `id`, as a range of `memo_hits`: scanned for on first use, remembered for
    /// the other queries that share the term.
    fn term_hits(&mut self, id: u32, t: &CTerm) -> (usize, usize) {
        if let Some(&range) = self.memo.get(&id) {
            return range;
        }
        let mut out = std::mem::take(&mut self.memo_hits);
        let a = out.len();
        self.scan(t, &mut out);
        let range = (a, out.len());
        self.memo_hits = out;
        self.memo.insert(id, range);
        range
    }

    /// Appends every hit of a term whose anchor is in the text (the caller checks `seen`).
    fn scan(&self, t: &CTerm, out: &mut Vec<Hit>) {
        let toks = &self.tokens.tokens;
        let textual = |k: &Token| matches!(k.kind, Kind::Word | Kind::Hashtag | Kind::Mention);
        match &t.term {
            Term::Word(w) => {
                let other_stem;
                let (stem, anchor) = if self.english {
                    (t.stem.as_str(), w.get(..t.stem_prefix).unwrap_or(w))
                } else {
                    other_stem = self.stemmer.stem(w).into_owned();
                    (other_stem.as_str(), common_prefix(w, &other_stem))
                };
                // Both tests need the token to start as the anchor does (the word starts with its
                // anchor): most tokens fail on their first byte.
                let first = anchor.as_bytes().first().copied();
                for (i, k) in toks.iter().enumerate() {
                    let body = self.tokens.body_bytes(k);
                    if first.is_some_and(|b| body.first() != Some(&b)) || !textual(k) {
                        continue;
                    }
                    if body == w.as_bytes()
                        || (body.starts_with(anchor.as_bytes()) && self.stem(i) == stem)
                    {
                        out.push(Self::hit(k));
                    }
                }
            }
            Term::Phrase(ws) => {
                let n = ws.len();
                if n == 0 || toks.len() < n {
                    return;
                }
                let first = ws[0].as_bytes().first();
                for i in 0..=toks.len() - n {
                    let window = &toks[i..i + n];
                    // Most windows fail on their first word's first byte.
                    if self.tokens.body_bytes(&window[0]).first() != first {
                        continue;
                    }
                    if window.iter().all(textual)
                        && window
                            .iter()
                            .zip(ws)
                            .all(|(k, w)| self.tokens.body_bytes(k) == w.as_bytes())
                    {
                        out.push(Hit {
                            first: window[0].pos,
                            last: window[n - 1].pos,
                            start: window[0].start,
                            end: window[n - 1].end,
                        });
                    }
                }
            }
            Term::Prefix(p) => {
                out.extend(
                    toks.iter()
                        .filter(|k| {
                            textual(k) && self.tokens.body_bytes(k).starts_with(p.as_bytes())
                        })
                        .map(Self::hit),
                );
            }
            Term::Hashtag(h) => out.extend(
                toks.iter()
                    .filter(|k| {
                        k.kind == Kind::Hashtag && self.tokens.body_bytes(k) == h.as_bytes()
                    })
                    .map(Self::hit),
            ),
            Term::Handle(h) => out.extend(
                toks.iter()
                    .filter(|k| {
                        k.kind == Kind::Mention && self.tokens.body_bytes(k) == h.as_bytes()
                    })
                    .map(Self::hit),
            ),
            Term::Raw(r) => {
                for (start, _) in self.text.match_indices(r.as_str()) {
                    let end = start + r.len();
                    let before = self.text[..start].chars().next_back();
                    let after = self.text[end..].chars().next();
                    let boundary =
                        |c: Option<char>| !c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                    if !(boundary(before) && boundary(after)) {
                        continue;
                    }
                    // Word position: the token that contains the start.
                    let idx = toks.partition_point(|k| k.end <= start);
                    let pos = toks.get(idx).map_or(toks.len() as u32, |k| k.pos);
                    let last = toks.partition_point(|k| k.start < end).saturating_sub(1);
                    let last = toks.get(last).map_or(pos, |k| k.pos.max(pos));
                    out.push(Hit {
                        first: pos,
                        last,
                        start,
                        end,
                    });
                }
            }
        }
    }

    fn field(&self, f: Field, v: &str) -> bool {
        let i = self.interaction;
        match f {
            Field::Author => i
                .party
                .handle
                .as_deref()
                .is_some_and(|h| fold(h.trim_start_matches('@')) == v),
            Field::Lang => self.language.is_some_and(|l| {
                let l = l.to_lowercase();
                l == v || l.split(['-', '_']).next() == Some(v)
            }),
            Field::Channel => fold(&i.channel) == v,
        }
    }
}
