//! The language of a message, and whether the analysers read it.
//!
//! The source's tag wins when it gives one (`en-GB`, `de`; `und` and `zxx` count as none). Without
//! one the text is detected in two steps, so that an English stream pays about a microsecond a
//! message and an English post is seldom taken for another language:
//!
//! 1. [whichlang] (a logistic regression over hashed character n-grams, 16 languages) reads the
//!    first [`DETECT_BYTES`] bytes. English ends here.
//! 2. Any other verdict must be confirmed by [whatlang]'s trigram profiles, asked to choose between
//!    English and that language only, with a confidence of at least [`CONFIRM`]. Short or mixed
//!    texts that fail the check are read as English, as they were before detection existed.
//!
//! [`CONFIRM`] was chosen on English text alone, as the lowest value of 0.0, 0.1, 0.2 and 0.3 that
//! takes at most 0.5% of each of two English sets for another language (VADER's 4,200 tweets: 16,
//! GoEmotions' 5,426 dev comments: 10, at 0.3); how well it finds other languages is measured on
//! `data/earshot/languages/posts.tsv` by `earshot eval-language`.
//!
//! The analysers (lexicon, emotion and signal models) read English only. A message in another
//! language keeps its mentions, and its sentiment, emotions and signals are left absent with the
//! reason ([`Unread`]), never a neutral reading that would dilute a brand's figures.

use serde::{Deserialize, Serialize};

/// Bytes of the text the detector reads: a ticket's subject and first sentence. (Detection costs
/// about 40 instructions a byte: a whole ticket would cost a third of its analysis.)
pub const DETECT_BYTES: usize = 256;

/// The confidence whatlang must give a non-English language over English.
pub const CONFIRM: f64 = 0.3;

/// The languages the analysers read (primary subtags).
pub const READ: [&str; 1] = ["en"];

/// Where the language of an insight comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LanguageSource {
    /// The source system's tag.
    Source,
    /// Detected from the text.
    Detected,
}

/// Why a message's sentiment, emotions and signals are absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unread {
    /// `unsupported_language`.
    pub reason: String,
    /// The language's primary subtag (`de`).
    pub language: String,
}

/// The language of one message as the analysis takes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Language {
    /// The source's tag as given, or the detected ISO 639-1 code; `None` when the source gave none
    /// and the text was read as English without being recognised as such (too short, no letters).
    pub tag: Option<String>,
    pub source: Option<LanguageSource>,
}

impl Language {
    /// The primary subtag, lower-cased: `en-GB` is `en`.
    pub fn primary(&self) -> Option<String> {
        self.tag
            .as_deref()
            .map(|t| primary_subtag(t).to_ascii_lowercase())
    }

    /// Whether the analysers read this language (an undetermined one is read as English).
    pub fn is_read(&self) -> bool {
        self.tag
            .as_deref()
            .map(primary_subtag)
            .is_none_or(|p| READ.iter().any(|r| r.eq_ignore_ascii_case(p)))
    }

    /// The reason the analysis is left out, for a language the analysers do not read.
    pub fn unread(&self) -> Option<Unread> {
        if self.is_read() {
            return None;
        }
        Some(Unread {
            reason: "unsupported_language".into(),
            language: self.primary().unwrap_or_default(),
        })
    }

    /// A bounded label for metrics: the primary subtag when it is one of the detector's
    /// languages, `other` for any other tag, `und` when there is none.
    pub fn metric_label(&self) -> &'static str {
        match self.tag.as_deref().map(primary_subtag) {
            None => "und",
            Some(p) => DETECTABLE
                .iter()
                .find(|(_, code)| code.eq_ignore_ascii_case(p))
                .map_or("other", |(_, code)| code),
        }
    }
}

/// The primary subtag of a BCP-47 tag, as written (`en-GB` is `en`; tags are case-insensitive,
/// and so is every comparison of it here). Borrowed: it is read for every message.
pub fn primary_subtag(tag: &str) -> &str {
    tag.split(['-', '_']).next().unwrap_or_default().trim()
}

/// whichlang's languages, their whatlang counterpart and ISO 639-1 code.
const DETECTABLE: [(whichlang::Lang, &str); 16] = [
    (whichlang::Lang::Ara, "ar"),
    (whichlang::Lang::Cmn, "zh"),
    (whichlang::Lang::Deu, "de"),
    (whichlang::Lang::Eng, "en"),
    (whichlang::Lang::Fra, "fr"),
    (whichlang::Lang::Hin, "hi"),
    (whichlang::Lang::Ita, "it"),
    (whichlang::Lang::Jpn, "ja"),
    (whichlang::Lang::Kor, "ko"),
    (whichlang::Lang::Nld, "nl"),
    (whichlang::Lang::Por, "pt"),
    (whichlang::Lang::Rus, "ru"),
    (whichlang::Lang::Spa, "es"),
    (whichlang::Lang::Swe, "sv"),
    (whichlang::Lang::Tur, "tr"),
    (whichlang::Lang::Vie, "vi"),
];

fn whatlang_of(l: whichlang::Lang) -> whatlang::Lang {
    use whatlang::Lang as W;
    use whichlang::Lang as L;
    match l {
        L::Ara => W::Ara,
        L::Cmn => W::Cmn,
        L::Deu => W::Deu,
        L::Eng => W::Eng,
        L::Fra => W::Fra,
        L::Hin => W::Hin,
        L::Ita => W::Ita,
        L::Jpn => W::Jpn,
        L::Kor => W::Kor,
        L::Nld => W::Nld,
        L::Por => W::Por,
        L::Rus => W::Rus,
        L::Spa => W::Spa,
        L::Swe => W::Swe,
        L::Tur => W::Tur,
        L::Vie => W::Vie,
    }
}

/// The detector: one whatlang detector per language, choosing between it and English, built once.
#[derive(Debug, Clone)]
pub struct LanguageDetector {
    confirm: Vec<(whichlang::Lang, &'static str, whatlang::Detector)>,
}

impl Default for LanguageDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl LanguageDetector {
    pub fn new() -> LanguageDetector {
        LanguageDetector {
            confirm: DETECTABLE
                .iter()
                .map(|&(l, code)| {
                    let pair = vec![whatlang::Lang::Eng, whatlang_of(l)];
                    (l, code, whatlang::Detector::with_allowlist(pair))
                })
                .collect(),
        }
    }

    /// The language of a message: the source's tag, else the detected one.
    pub fn language(&self, source_tag: Option<&str>, text: &str) -> Language {
        if let Some(tag) = source_tag.filter(|t| {
            !["", "und", "zxx"]
                .iter()
                .any(|u| u.eq_ignore_ascii_case(primary_subtag(t)))
        }) {
            return Language {
                tag: Some(tag.to_string()),
                source: Some(LanguageSource::Source),
            };
        }
        Language {
            tag: self.detect(text).map(str::to_string),
            source: Some(LanguageSource::Detected),
        }
    }

    /// The detected ISO 639-1 code of a text, `None` when it has no letters.
    pub fn detect(&self, text: &str) -> Option<&'static str> {
        if !text.chars().any(char::is_alphabetic) {
            return None;
        }
        let mut end = text.len().min(DETECT_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let head = &text[..end];
        let guess = whichlang::detect_language(head);
        if guess == whichlang::Lang::Eng {
            return Some("en");
        }
        let (_, code, confirm) = self.confirm.iter().find(|(l, _, _)| *l == guess)?;
        match confirm.detect(head) {
            Some(info) if info.lang() != whatlang::Lang::Eng && info.confidence() >= CONFIRM => {
                Some(code)
            }
            _ => Some("en"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_tag_wins_and_undetermined_tags_are_none() {
        let d = LanguageDetector::new();
        let l = d.language(Some("en-GB"), "Der Router ist eine Katastrophe");
        assert_eq!(l.tag.as_deref(), Some("en-GB"));
        assert_eq!(l.source, Some(LanguageSource::Source));
        assert!(l.is_read());
        for und in ["und", "zxx", ""] {
            let l = d.language(
                Some(und),
                "Der Router ist eine Katastrophe, seit drei Tagen kein Internet",
            );
            assert_eq!(l.tag.as_deref(), Some("de"), "{und}");
            assert_eq!(l.source, Some(LanguageSource::Detected));
        }
    }

    #[test]
    fn other_languages_are_found_and_left_unread() {
        let d = LanguageDetector::new();
        for (text, code) in [
            (
                "Der Larkspur Router ist eine Katastrophe, seit drei Tagen kein Internet!",
                "de",
            ),
            (
                "Franchement le service client de Larkspur c'est nul, trois jours sans connexion",
                "fr",
            ),
            ("a app do Brightpay não abre desde ontem", "pt"),
            ("Ларкспур опять без интернета третий день", "ru"),
        ] {
            let l = d.language(None, text);
            assert_eq!(l.tag.as_deref(), Some(code), "{text}");
            assert!(!l.is_read(), "{text}");
            let u = l.unread().expect("unread");
            assert_eq!(
                (u.reason.as_str(), u.language.as_str()),
                ("unsupported_language", code)
            );
            assert_eq!(l.metric_label(), code);
        }
    }

    #[test]
    fn english_stays_read_however_short_or_noisy() {
        let d = LanguageDetector::new();
        for text in [
            "Larkspur down again lol",
            "@larkspurhelp third outage this week in SE4, is there an ETA",
            "ngl the new Munchly app is mid tbh",
            "LMAO, AMAZING!",
        ] {
            let l = d.language(None, text);
            assert!(l.is_read(), "{text}: {:?}", l.tag);
        }
        let none = d.language(None, "😍😍 🔥 123");
        assert_eq!(none.tag, None);
        assert!(none.is_read());
        assert_eq!(none.metric_label(), "und");
        let other = d.language(Some("pl-PL"), "Larkspur znowu nie działa");
        assert_eq!(other.metric_label(), "other");
        assert!(!other.is_read());
    }
}

/// What `earshot eval-language` reports of one labelled set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Per expected language: (rows, detected as that language, left unread).
    pub per_language: std::collections::BTreeMap<String, (usize, usize, usize)>,
}

impl Report {
    /// Rows whose read/unread decision is right: English read, every other language unread.
    pub fn decisions_right(&self) -> (usize, usize) {
        let mut right = 0;
        let mut all = 0;
        for (lang, &(n, _, unread)) in &self.per_language {
            all += n;
            right += if READ.contains(&lang.as_str()) {
                n - unread
            } else {
                unread
            };
        }
        (right, all)
    }
}

/// Detects every `(expected primary subtag, text)` row as a message without a language tag.
pub fn evaluate<'a>(
    detector: &LanguageDetector,
    rows: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Report {
    let mut r = Report::default();
    for (expected, text) in rows {
        let l = detector.language(None, text);
        let e = r.per_language.entry(expected.to_string()).or_default();
        e.0 += 1;
        e.1 += usize::from(l.primary().as_deref() == Some(expected));
        e.2 += usize::from(!l.is_read());
    }
    r
}
