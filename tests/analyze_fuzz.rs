//! Property test: no text panics the analyser, and every span it reports (mentions, sentiment
//! evidence, signal evidence) is a real slice of the analysed text with the text it claims.

use chrono::{DateTime, Utc};
use earshot::analyze::Analyzer;
use earshot::catalog::Catalog;
use earshot::interaction::{Interaction, Kind, Party};
use earshot::types::Span;
use proptest::prelude::*;

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Larkspur".to_string()),
        Just("Corvid fiber".to_string()),
        Just("switched from".to_string()),
        Just("moving to".to_string()),
        Just("for 45 minutes".to_string()),
        Just("in under five minutes".to_string()),
        Just("on hold".to_string()),
        Just("can’t afford".to_string()),
        Just("I wish".to_string()),
        Just("great, another".to_string()),
        Just("İİ".to_string()),
        Just("ẞ".to_string()),
        Just("👍🏽".to_string()),
        Just("?".to_string()),
        Just("!".to_string()),
        Just(". ".to_string()),
        Just("\n".to_string()),
        Just("#NeverAgain".to_string()),
        "[a-zA-Zß0-9_'’.-]{1,10}",
        any::<String>(),
    ]
}

fn text() -> impl Strategy<Value = String> {
    (prop::collection::vec(piece(), 0..16), prop::bool::ANY)
        .prop_map(|(parts, spaced)| parts.join(if spaced { " " } else { "" }))
}

fn message(text: String, ticket: bool) -> Interaction {
    Interaction {
        kind: if ticket {
            Kind::SupportTicket
        } else {
            Kind::SocialPost
        },
        id: "fuzz".into(),
        channel: "x".into(),
        text,
        language: None,
        occurred_at: DateTime::<Utc>::UNIX_EPOCH,
        party: Party::default(),
        product_hint: None,
        recipient: None,
        reply_to: None,
        status: None,
    }
}

/// One analyser for all cases: building it (catalog, automata, emotion model) dominates otherwise.
fn analyzer() -> &'static Analyzer {
    static ANALYZER: std::sync::OnceLock<Analyzer> = std::sync::OnceLock::new();
    ANALYZER.get_or_init(|| {
        let catalog = Catalog::parse(include_str!("../config/catalog.toml")).expect("catalog");
        Analyzer::new(catalog).expect("analyzer")
    })
}

fn check(text: &str, span: &Span, what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        text.get(span.start..span.end),
        Some(span.text.as_str()),
        "{} span {:?} in {:?}",
        what,
        span,
        text
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn any_text_analyses_with_honest_spans(t in text(), ticket in prop::bool::ANY) {
        let a = analyzer().analyze(&message(t.clone(), ticket));
        for m in &a.mentions {
            check(&t, &m.span, "mention")?;
        }
        if let Some(s) = &a.sentiment {
            for e in &s.evidence {
                check(&t, &e.span, "sentiment")?;
            }
        }
        // Read or not, and the same answer for every analyser.
        prop_assert_eq!(a.signals.is_some(), a.unread.is_none());
        prop_assert_eq!(a.sentiment.is_some(), a.unread.is_none());
        prop_assert_eq!(a.emotions.is_some(), a.unread.is_none());
        if let Some(s) = &a.signals {
            for sig in s.context.iter().chain(&s.intents) {
                for e in &sig.evidence {
                    check(&t, e, "signal")?;
                }
            }
            for e in s.effort.iter().flat_map(|e| &e.evidence) {
                check(&t, e, "effort")?;
            }
            prop_assert!(s.priority <= 100);
        }
        prop_assert!(serde_json::to_string(&a).is_ok());
    }

    /// An insight reads back as it was written (the flattened analysis and signals included, read
    /// or unread), but for the analysis' `language`, which is not written.
    #[test]
    fn an_insight_reads_back_as_it_was_written(t in text(), ticket in prop::bool::ANY) {
        let m = message(t, ticket);
        let analysis = analyzer().analyze(&m);
        let at = earshot::insight::SourceRef { topic: "in".into(), partition: 1, offset: 7 };
        let mut written = earshot::insight::Insight::new(at, m, analysis, DateTime::<Utc>::UNIX_EPOCH);
        let bytes = serde_json::to_vec(&written).unwrap();
        let read: earshot::insight::Insight = serde_json::from_slice(&bytes).unwrap();
        written.analysis.language = Default::default();
        prop_assert_eq!(read, written);
    }
}
