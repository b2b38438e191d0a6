//! Property tests: no query text panics the parser, and no compiled query panics the matcher on any
//! text. Grammar-shaped inputs reach deep into the parser; arbitrary strings cover the rest.

use chrono::{DateTime, Utc};
use earshot::catalog::Catalog;
use earshot::interaction::{Interaction, Kind, Party};
use earshot::mentions::query::parse;
use earshot::mentions::Matcher;
use proptest::prelude::*;

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("AND".to_string()),
        Just("OR".to_string()),
        Just("NOT".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("\"".to_string()),
        Just("#".to_string()),
        Just("@".to_string()),
        Just("*".to_string()),
        Just("raw:".to_string()),
        Just("lang:".to_string()),
        Just("author:".to_string()),
        Just("channel:".to_string()),
        (0u32..120).prop_map(|n| format!("NEAR/{n}")),
        (0u32..120).prop_map(|n| format!("ONEAR/{n}")),
        "[a-zA-Zß0-9_'’.-]{1,8}\\*?",
        "\"[a-z ]{0,12}\"",
        any::<String>(),
    ]
}

fn query() -> impl Strategy<Value = String> {
    (prop::collection::vec(piece(), 0..14), prop::bool::ANY)
        .prop_map(|(parts, spaced)| parts.join(if spaced { " " } else { "" }))
}

fn message(text: String) -> Interaction {
    Interaction {
        kind: Kind::SocialPost,
        id: "1".into(),
        channel: "twitter".into(),
        party: Party::default(),
        occurred_at: DateTime::<Utc>::UNIX_EPOCH,
        language: None,
        text,
        product_hint: None,
        recipient: None,
        reply_to: None,
        status: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn parser_never_panics(q in query()) {
        let _ = parse(&q);
    }

    #[test]
    fn parser_never_panics_on_arbitrary_text(q in any::<String>()) {
        let _ = parse(&q);
    }

    #[test]
    fn matching_never_panics_and_spans_are_valid(q in query(), text in "(\\PC|[#@ .:/])*") {
        let src = format!("[[brand]]\nid = \"b\"\nname = \"B\"\nquery = {}\n", toml::Value::String(q));
        if let Ok(Ok(m)) = Catalog::parse(&src).map(|c| Matcher::compile(&c)) {
            for found in m.find(&message(text.clone())) {
                prop_assert!(found.span.start <= found.span.end && found.span.end <= text.len());
                prop_assert_eq!(&text[found.span.start..found.span.end], found.span.text.as_str());
            }
        }
    }
}
