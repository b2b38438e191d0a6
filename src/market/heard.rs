//! One message as the market view reads it: when it was said, by whom (a hash of the pseudonymous
//! party key), and for each brand it is about, that brand's own reading (sentiment, intents) and
//! the phrases a theme could be made of.

use chrono::{DateTime, Utc};
use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::FxHashMap;
use uuid::Uuid;

use crate::emotion::EKMAN;
use crate::insight::Insight;
use crate::interaction::Segment;
use crate::signals::model::LABELS;
use crate::types::{is_function_word, Label};

/// The intents a trend counts: the signal model's `intent:` labels, in its order.
pub fn intents() -> impl Iterator<Item = &'static str> {
    LABELS.iter().filter_map(|l| l.strip_prefix("intent:"))
}

/// Number of intents a trend counts.
pub const INTENTS: usize = 10;

fn intent_index(label: &str) -> Option<usize> {
    intents().position(|i| i == label)
}

/// What a theme phrase was said as.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ThemeKind {
    /// A problem: the mention's sentence in a message that complains or threatens to leave.
    Complaint,
    /// A need: the job the customer wants done ("I wish it could ...").
    Need,
}

/// The phrase candidates of one message about one brand: content words stemmed, as unigrams and
/// adjacent bigrams (`key`), each with the words as written (`label`, lower case).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Phrases {
    pub kind: ThemeKind,
    pub grams: Vec<Gram>,
    /// The sentence it came from, shortened: the quote a theme shows.
    pub quote: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Gram {
    pub key: String,
    pub label: String,
}

/// One brand (or product) a message is about.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct About {
    pub brand: String,
    pub product: Option<String>,
    pub line: Option<String>,
    pub competitor: bool,
    /// Byte offset of its first mention in the text: where its quote is.
    pub at: usize,
    /// The mention's own sentiment, else the message's; `None` for an unread language.
    pub label: Option<Label>,
    pub compound: f32,
    /// Bit i: intent i of [`intents`] concerns this brand.
    pub intents: u16,
    pub phrases: Option<std::sync::Arc<Phrases>>,
}

/// One message.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Heard {
    pub insight: Uuid,
    /// Event time: when it was said.
    pub at: DateTime<Utc>,
    /// FNV-1a of the (pseudonymous) party key (`polarity::data::id_hash`, as the memory partitions
    /// by), for counting unique customers.
    pub customer: u64,
    pub segment: Option<Segment>,
    /// Index into [`EKMAN`] of the dominant emotion group.
    pub emotion: Option<u8>,
    pub effort: Option<i8>,
    pub about: Vec<About>,
}

/// Words said about almost any problem, which would make every theme the same (sorted: looked up
/// by binary search).
#[rustfmt::skip]
const GENERIC: &[&str] = &[
    "actually", "again", "already", "also", "another", "anyone", "anyway", "awful", "back", "bad",
    "because", "best", "can", "cancel", "cant", "could", "customer", "customers", "day", "days",
    "didnt", "doesnt", "done", "dont", "even", "ever", "every", "everyone", "everything", "fix",
    "fixed", "get", "going", "gonna", "good", "got", "great", "guess", "guys", "hate", "help",
    "hey", "hi", "honestly", "im", "isnt", "ive", "just", "keep", "keeps", "last", "leave",
    "leaving", "like", "literally", "lol", "love", "made", "make", "maybe", "month", "months",
    "moving", "need", "never", "nope", "nothing", "now", "omg", "one", "people", "please", "really",
    "seriously", "service", "should", "since", "someone", "something", "soo", "sooo", "still",
    "support", "switch", "switching", "terrible", "thank", "thanks", "thing", "things", "though",
    "time", "times", "today", "too", "ugh", "use", "using", "want", "way", "week", "weeks", "wish",
    "wont", "work", "working", "works", "worst", "would", "wtf", "yeah", "year", "years", "yes",
];

/// At most this many content words of a sentence make its phrases.
const MAX_WORDS: usize = 12;

/// At most this many bytes of a sentence make a quote.
const QUOTE_BYTES: usize = 160;

/// The sentence around byte `at` of `text`: from after the previous sentence end to the next one.
pub fn sentence(text: &str, at: usize) -> &str {
    // `at` comes from the insight (a mention's span): inside a character, it moves back to its start.
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let is_end = |c: char| matches!(c, '.' | '!' | '?' | '\n');
    let start = text[..at]
        .char_indices()
        .rev()
        .find(|&(_, c)| is_end(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let end = text[at..].find(is_end).map_or(text.len(), |i| at + i + 1);
    text[start..end].trim()
}

/// A quote of at most [`QUOTE_BYTES`] bytes, cut at a character boundary with an ellipsis.
pub fn shorten(text: &str) -> String {
    if text.len() <= QUOTE_BYTES {
        return text.to_string();
    }
    let mut cut = QUOTE_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", text[..cut].trim_end())
}

/// The phrases of `text`, skipping the words whose stems are in `skip` (the names of the brands and
/// products the message mentions: a theme is what is said about them, not who).
fn phrases(
    stems: &mut Stems,
    kind: ThemeKind,
    text: &str,
    skip: &[String],
    quote: &str,
) -> Phrases {
    // A link's words ("https", "com") are no theme ([`crate::analysers::links`]).
    let text = crate::analysers::links::blank(text);
    let (words, stems): (Vec<String>, Vec<String>) = text
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(normalise)
        .filter(|w| {
            w.chars().count() >= 3
                && w.chars().any(char::is_alphabetic)
                && !is_function_word(w.as_bytes())
                && GENERIC.binary_search(&w.as_str()).is_err()
        })
        .map(|w| {
            let stem = stems.of(&w);
            (w, stem)
        })
        .filter(|(_, stem)| !skip.contains(stem))
        .take(MAX_WORDS)
        .unzip();
    let mut grams = Vec::with_capacity(stems.len() * 2);
    for i in 0..stems.len() {
        grams.push(Gram {
            key: stems[i].clone(),
            label: words[i].clone(),
        });
        if i + 1 < stems.len() && stems[i] != stems[i + 1] {
            grams.push(Gram {
                key: joined(&stems[i], &stems[i + 1]),
                label: joined(&words[i], &words[i + 1]),
            });
        }
    }
    grams.sort_by(|a, b| a.key.cmp(&b.key));
    grams.dedup_by(|a, b| a.key == b.key);
    Phrases {
        kind,
        grams,
        quote: shorten(quote),
    }
}

/// A word of a theme in lower case without apostrophes ("Don't" is "dont"). An ASCII word (most
/// of them) in one pass and one allocation; `replace` then `to_lowercase` made two strings a word,
/// a tenth of reading an insight (callgrind, `examples/market_speed.rs`).
fn normalise(w: &str) -> String {
    let w = w.trim_matches('\'');
    if w.is_ascii() {
        let mut out = String::with_capacity(w.len());
        for b in w.bytes().filter(|&b| b != b'\'') {
            out.push(char::from(b.to_ascii_lowercase()));
        }
        out
    } else {
        w.replace('\'', "").to_lowercase()
    }
}

/// Two words with a space between, without `format!`'s machinery (a sixth of reading an insight).
fn joined(a: &str, b: &str) -> String {
    let mut s = String::with_capacity(a.len() + 1 + b.len());
    s.push_str(a);
    s.push(' ');
    s.push_str(b);
    s
}

/// English stems, remembered: the words of complaints repeat, and stemming was a quarter of
/// reading an insight (perf, `examples/market_speed.rs`).
pub struct Stems {
    stemmer: Stemmer,
    known: FxHashMap<String, String>,
}

/// A [`Stems`] forgets everything when it knows this many words (a bound, not a cache policy).
const STEMS_KEPT: usize = 100_000;

impl Default for Stems {
    fn default() -> Stems {
        Stems {
            stemmer: Stemmer::create(Algorithm::English),
            known: FxHashMap::default(),
        }
    }
}

impl std::fmt::Debug for Stems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stems")
            .field("known", &self.known.len())
            .finish()
    }
}

impl Stems {
    /// The stem of a lower-case word.
    pub fn of(&mut self, word: &str) -> String {
        if let Some(s) = self.known.get(word) {
            return s.clone();
        }
        if self.known.len() >= STEMS_KEPT {
            self.known.clear();
        }
        let stem = self.stemmer.stem(word).into_owned();
        self.known.insert(word.to_string(), stem.clone());
        stem
    }
}

/// The stems of the words of every name an insight's mentions matched.
fn name_stems(i: &Insight, stems: &mut Stems) -> Vec<String> {
    i.analysis
        .mentions
        .iter()
        .flat_map(|m| m.span.text.split(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty())
        .map(|w| {
            if w.bytes().any(|b| b.is_ascii_uppercase()) || !w.is_ascii() {
                stems.of(&w.to_lowercase())
            } else {
                stems.of(w)
            }
        })
        .collect()
}

impl Heard {
    /// Reads an insight (themes are read in English).
    pub fn of(i: &Insight, stems: &mut Stems) -> Heard {
        let a = &i.analysis;
        let message_label = a.sentiment.as_ref().map(|s| (s.label, s.compound));
        let signals = a.signals.as_ref();
        let job = signals.and_then(|s| {
            s.intents
                .iter()
                .find(|x| x.label == "need")
                .and_then(|x| x.job.clone())
        });
        let emotion = a.emotions.as_ref().and_then(|e| {
            EKMAN
                .iter()
                .position(|g| *g == e.dominant_ekman.as_ref())
                .map(|p| p as u8)
        });
        // The stems of the names, made when a first mention has phrases to read.
        let mut names: Option<Vec<String>> = None;
        let mut about: Vec<About> = Vec::with_capacity(a.mentions.len());
        for m in &a.mentions {
            let (label, compound) = match (&m.sentiment, message_label) {
                (Some(s), _) => (Some(s.label), s.compound),
                (None, Some((l, c))) => (Some(l), c),
                (None, None) => (None, 0.0),
            };
            let mut intents = 0u16;
            for label in &m.intents {
                if let Some(k) = intent_index(label) {
                    intents |= 1 << k;
                }
            }
            let has = |name: &str| intent_index(name).is_some_and(|k| intents & (1 << k) != 0);
            // A recipient (a ticket's, a reply's) that the words do not name has no place in them: its
            // sentence is the one where the message's complaint or churn is told.
            let place = if m.spanless() {
                signals
                    .and_then(|s| {
                        s.intents
                            .iter()
                            .filter(|x| x.label == "complaint" || x.label == "churn_risk")
                            .find_map(|x| x.evidence.first())
                            .map(|e| e.start)
                    })
                    .unwrap_or(0)
            } else {
                m.span.start
            };
            let sentence_of_mention = sentence(&i.text, place);
            let kind = if has("need") && job.is_some() {
                Some((ThemeKind::Need, job.as_deref().unwrap_or_default()))
            } else if has("complaint") || has("churn_risk") {
                Some((ThemeKind::Complaint, sentence_of_mention))
            } else {
                None
            };
            let phrases = kind
                .map(|(kind, text)| {
                    let names = names.get_or_insert_with(|| name_stems(i, stems));
                    phrases(stems, kind, text, names, sentence_of_mention)
                })
                .filter(|p| !p.grams.is_empty())
                .map(std::sync::Arc::new);
            // A brand named twice in a message is one voice for it; its first mention reads it
            // unless a later one names a product.
            if let Some(prev) = about
                .iter_mut()
                .find(|x| x.brand == m.brand && (x.product == m.product || m.product.is_none()))
            {
                prev.intents |= intents;
                if prev.phrases.is_none() {
                    prev.phrases = phrases;
                }
                continue;
            }
            about.push(About {
                brand: m.brand.clone(),
                product: m.product.clone(),
                line: m.line.clone(),
                competitor: m.competitor,
                at: place,
                label,
                compound,
                intents,
                phrases,
            });
        }
        Heard {
            insight: i.id,
            at: i.occurred_at,
            customer: crate::polarity::data::id_hash(&i.party.id),
            segment: i.party.segment,
            emotion,
            effort: signals
                .and_then(|s| s.effort.as_ref())
                .map(|e| e.score.clamp(-5, 5)),
            about,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_words_are_sorted_for_the_binary_search() {
        assert!(GENERIC.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn intents_are_the_models_ten() {
        assert_eq!(intents().count(), INTENTS);
        assert_eq!(intent_index("complaint"), Some(0));
        assert!(intent_index("need").is_some());
        assert_eq!(intent_index("sarcasm"), None);
    }

    #[test]
    fn the_sentence_around_a_byte() {
        let t = "First one. Larkspur router keeps dropping wifi! Third";
        assert_eq!(sentence(t, 12), "Larkspur router keeps dropping wifi!");
        assert_eq!(sentence(t, 0), "First one.");
        assert_eq!(sentence(t, t.len()), "Third");
        // A byte inside a character (an insight's span may say anything) is that character's.
        assert_eq!(sentence("Größe. Larkspur", 3), "Größe.");
    }

    #[test]
    fn phrases_skip_the_brand_and_generic_words() {
        let s = &mut Stems::default();
        let p = phrases(
            s,
            ThemeKind::Complaint,
            "Larkspur router keeps dropping the wifi again, terrible",
            &["larkspur".to_string()],
            "q",
        );
        let keys: Vec<&str> = p.grams.iter().map(|g| g.key.as_str()).collect();
        assert!(keys.contains(&"router"), "{keys:?}");
        assert!(keys.contains(&"drop wifi"), "{keys:?}");
        assert!(!keys.iter().any(|k| k.contains("larkspur")), "{keys:?}");
        assert!(!keys.iter().any(|k| k.contains("terribl")), "{keys:?}");
        let label = p
            .grams
            .iter()
            .find(|g| g.key == "drop wifi")
            .map(|g| &g.label);
        assert_eq!(label.map(String::as_str), Some("dropping wifi"));
        // A brand's name in another form (a possessive) is still its name.
        let p = phrases(
            s,
            ThemeKind::Complaint,
            "Larkspurs router",
            &["larkspur".to_string()],
            "q",
        );
        let keys: Vec<&str> = p.grams.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys, ["router"]);
    }

    #[test]
    fn words_are_normalised_as_replace_then_lowercase_would() {
        for w in [
            "Don't",
            "'quoted'",
            "ROUTER",
            "wi-fi",
            "Größe",
            "ÉTÉ'S",
            "''",
            "o'Neil's",
            "ΣΟΦΟΣ",
        ] {
            let want = w.trim_matches('\'').replace('\'', "").to_lowercase();
            assert_eq!(normalise(w), want, "{w}");
        }
        assert_eq!(joined("drop", "wifi"), "drop wifi");
    }

    #[test]
    fn a_recipient_with_no_words_is_heard_where_the_complaint_is_told() {
        use crate::analyze::Analyzer;
        use crate::catalog::Catalog;
        let analyzer = Analyzer::new(Catalog::parse(crate::catalog::SAMPLE).unwrap()).unwrap();
        let text = "Corvid offered me gigabit for 25 pounds. Please cancel my broadband, the outages never stop.";
        let json = serde_json::json!({"id": "t1", "customer": {"id": "c1"}, "channel": "email",
            "brand": "larkspur", "body": text, "created_at": "2026-11-02T10:00:00Z"});
        let i = crate::decode::decode(
            Some(json.to_string().as_bytes()),
            crate::decode::KindHint::Auto,
            Default::default(),
        )
        .unwrap();
        let mut a = analyzer.analyze(&i);
        // The readings as a model might give them: churn for the company written to, told in the
        // second sentence.
        let cancel = text.find("cancel").unwrap();
        let signals = a.signals.as_mut().unwrap();
        signals.intents = vec![crate::signals::Signal {
            label: "churn_risk".into(),
            evidence: vec![crate::types::Span::new(text, cancel, cancel + 6)],
            competitor: None,
            job: None,
            moment: None,
        }];
        let to = a.mentions.iter_mut().find(|m| m.spanless()).unwrap();
        to.intents = vec!["churn_risk".into()];
        let at = crate::insight::SourceRef {
            topic: "t".into(),
            partition: 0,
            offset: 0,
        };
        let insight = crate::insight::Insight::new(at, i, a, chrono::Utc::now());
        let h = Heard::of(&insight, &mut Stems::default());
        let larkspur = h.about.iter().find(|x| x.brand == "larkspur").unwrap();
        let second = text.find("Please").unwrap();
        assert!(larkspur.at >= second, "{}", larkspur.at);
        let keys: Vec<&str> = larkspur
            .phrases
            .as_ref()
            .map(|p| p.grams.iter().map(|g| g.key.as_str()).collect())
            .unwrap_or_default();
        assert!(!keys.iter().any(|k| k.contains("gigabit")), "{keys:?}");
    }

    #[test]
    fn quotes_are_cut_at_a_character() {
        let long = "é".repeat(200);
        let q = shorten(&long);
        assert!(q.len() <= QUOTE_BYTES + '…'.len_utf8());
        assert!(q.ends_with('…'));
    }
}
