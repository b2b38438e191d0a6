//! The mention engine, rule by rule, and its precision and recall on the labelled set.

use chrono::{DateTime, Utc};
use earshot::catalog::Catalog;
use earshot::interaction::{Interaction, Kind, Party};
use earshot::mentions::eval::{evaluate, Labelled};
use earshot::mentions::Matcher;

fn matcher(query: &str) -> Matcher {
    let src = format!("[[brand]]\nid = \"b\"\nname = \"B\"\nquery = '''{query}'''\n");
    Matcher::compile(&Catalog::parse(&src).unwrap()).unwrap()
}

fn msg(text: &str) -> Interaction {
    Interaction {
        kind: Kind::SocialPost,
        id: "1".into(),
        channel: "twitter".into(),
        party: Party {
            id: "p".into(),
            handle: Some("Alice".into()),
            ..Party::default()
        },
        occurred_at: DateTime::<Utc>::UNIX_EPOCH,
        language: Some("en".into()),
        text: text.into(),
        product_hint: None,
        recipient: None,
        reply_to: None,
        status: None,
    }
}

/// The surface texts matched by `query` in `text`.
fn hits(query: &str, text: &str) -> Vec<String> {
    matcher(query)
        .find(&msg(text))
        .into_iter()
        .map(|m| {
            assert_eq!(
                &text[m.span.start..m.span.end],
                m.span.text,
                "offsets point at the text"
            );
            m.span.text.into()
        })
        .collect()
}

#[test]
fn words_fold_case_and_match_inflections() {
    assert_eq!(
        hits("laptop", "Two LAPTOPS and a Laptop"),
        ["LAPTOPS", "Laptop"]
    );
    assert_eq!(hits("run", "running late"), ["running"]);
    assert!(hits("laptop", "laptopbag").is_empty());
    // Unicode case folding.
    assert_eq!(hits("straße", "STRASSE or Straße"), ["STRASSE", "Straße"]);
    assert_eq!(
        hits("\"ΟΔΟΣ\"", "οδος and οδοσ"),
        ["οδος", "οδοσ"],
        "final sigma folds"
    );
    assert_eq!(hits("éclair", "ÉCLAIRS please"), ["ÉCLAIRS"]);
}

#[test]
fn word_boundaries_are_enforced() {
    assert!(
        hits("li", "a new tile").is_empty(),
        "LI never matches inside tile"
    );
    assert!(hits("raw:\"LI\"", "a new tile, TILE").is_empty());
    assert_eq!(
        hits("raw:\"LI\"", "LI and li"),
        ["LI"],
        "raw is case-sensitive"
    );
}

#[test]
fn phrases_are_exact_consecutive_words() {
    assert_eq!(
        hits("\"cloud drive\"", "my Cloud  Drive, and cloud drives"),
        ["Cloud  Drive"]
    );
    assert!(hits("\"cloud drive\"", "cloud backup drive").is_empty());
}

#[test]
fn prefixes_hashtags_handles() {
    assert_eq!(hits("lark*", "Larkspur larks lar"), ["Larkspur", "larks"]);
    assert_eq!(hits("#fail", "fail #Fail @fail"), ["#Fail"]);
    assert_eq!(hits("@acme", "acme #acme @ACME"), ["@ACME"]);
    // A bare word also matches its hashtag and @-mention.
    assert_eq!(hits("acme", "acme #acme @ACME"), ["acme", "#acme", "@ACME"]);
    // A hashtag is one token: a word is not found inside "#AcmeFail"; a prefix is.
    assert!(hits("acme", "third outage #AcmeFail").is_empty());
    assert_eq!(
        hits("acme*", "third outage #AcmeFail @acmehelp"),
        ["#AcmeFail", "@acmehelp"]
    );
}

#[test]
fn urls_and_emails_never_match_plain_terms() {
    assert!(hits("acme", "see https://acme.example/acme and www.acme.com").is_empty());
    assert!(hits("acme", "write to help@acme.com").is_empty());
    assert_eq!(hits("acme", "acme: https://acme.example"), ["acme"]);
}

#[test]
fn boolean_operators() {
    assert_eq!(hits("apple AND pie", "apple pie").len(), 2);
    assert!(hits("apple AND pie", "apple tart").is_empty());
    assert_eq!(
        hits("apple pie", "pie and apple").len(),
        2,
        "side by side means AND"
    );
    assert_eq!(hits("apple OR pear", "a pear"), ["pear"]);
    assert!(hits("apple NOT pie", "apple pie").is_empty());
    assert!(hits("apple AND NOT (pie OR tart)", "apple tart").is_empty());
    assert_eq!(
        hits("apple AND NOT (pie OR tart)", "apple juice"),
        ["apple"]
    );
}

#[test]
fn near_counts_words_between_and_onear_keeps_order() {
    // NEAR/n: at most n-1 words between the two.
    assert_eq!(
        hits("cloud NEAR/1 contoso", "contoso cloud"),
        ["contoso cloud"]
    );
    assert!(hits("cloud NEAR/1 contoso", "contoso big cloud").is_empty());
    assert_eq!(
        hits("cloud NEAR/3 contoso", "cloud from big contoso"),
        ["cloud from big contoso"]
    );
    assert!(hits("cloud NEAR/2 contoso", "cloud from big contoso").is_empty());
    assert_eq!(hits("contoso ONEAR/3 cloud", "contoso cloud").len(), 1);
    assert!(hits("contoso ONEAR/3 cloud", "cloud contoso").is_empty());
    // Operands may be groups.
    assert_eq!(
        hits("(fiber OR broadband) NEAR/2 acme", "acme broadband").len(),
        1
    );
}

#[test]
fn field_scopes_restrict() {
    assert_eq!(hits("acme AND channel:twitter", "acme").len(), 1);
    assert!(hits("acme AND channel:reddit", "acme").is_empty());
    assert_eq!(hits("acme lang:en", "acme").len(), 1);
    assert!(hits("acme lang:fr", "acme").is_empty());
    assert_eq!(hits("acme author:@alice", "acme").len(), 1);
    assert!(hits("acme author:bob", "acme").is_empty());
}

#[test]
fn stemming_follows_the_message_language() {
    let m = matcher("maison");
    let mut fr = msg("Les maisons sont belles");
    fr.language = Some("fr".into());
    assert_eq!(m.find(&fr).len(), 1);
}

#[test]
fn products_carry_brand_and_line_and_are_brand_mentions() {
    let src = r#"
[[brand]]
id = "acme"
name = "Acme"
competitor = true
query = 'acme'
[[brand.product]]
id = "acme-cloud"
name = "Acme Cloud"
line = "business"
query = '"acme cloud"'
"#;
    let m = Matcher::compile(&Catalog::parse(src).unwrap()).unwrap();
    let found = m.find(&msg("I moved to Acme Cloud, acme rocks"));
    let got: Vec<_> = found
        .iter()
        .map(|m| {
            (
                m.brand.as_str(),
                m.product.as_deref(),
                m.line.as_deref(),
                m.competitor,
                m.span.text.as_str(),
            )
        })
        .collect();
    // The brand-only hit inside the product mention is folded into it; the later one stays.
    assert_eq!(
        got,
        [
            (
                "acme",
                Some("acme-cloud"),
                Some("business"),
                true,
                "Acme Cloud"
            ),
            ("acme", None, None, true, "acme"),
        ]
    );
}

#[test]
fn every_query_error_is_reported_with_owner_and_position() {
    let src = r#"
[[brand]]
id = "good"
name = "Good"
query = 'good'
[[brand]]
id = "bad1"
name = "Bad"
query = '(open'
[[brand.product]]
id = "bad2"
name = "Bad2"
query = 'NOT only'
"#;
    let errs = Matcher::compile(&Catalog::parse(src).unwrap()).unwrap_err();
    let text = errs.to_string();
    assert_eq!(errs.0.len(), 2, "{text}");
    assert!(
        text.contains("brand bad1: query at character 5: expected ')'"),
        "{text}"
    );
    assert!(
        text.contains("product bad2") && text.contains("never match"),
        "{text}"
    );
}

#[test]
fn labelled_set_precision_and_recall() {
    let root = env!("CARGO_MANIFEST_DIR");
    let catalog =
        Catalog::parse(&std::fs::read_to_string(format!("{root}/config/catalog.toml")).unwrap())
            .unwrap();
    let m = Matcher::compile(&catalog).unwrap();
    let items: Vec<Labelled> =
        std::fs::read_to_string(format!("{root}/tests/mentions/labelled.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    assert!(items.len() >= 300);
    let ambiguous = items.iter().filter(|i| i.expect.is_empty()).count();
    assert!(
        ambiguous >= 60,
        "many messages name a brand word in another sense"
    );
    let r = evaluate(&m, &items);
    eprintln!("{r}");
    assert!(
        r.total.precision() >= 0.97,
        "precision {}",
        r.total.precision()
    );
    assert!(r.total.recall() >= 0.97, "recall {}", r.total.recall());
}

#[test]
fn a_mention_does_not_swallow_another_brands_mention() {
    let src = r#"
[[brand]]
id = "corvid"
name = "Corvid"
competitor = true
query = '"corvid telecom" OR (corvid NEAR/4 fiber)'
[[brand]]
id = "larkspur"
name = "Larkspur"
query = '"larkspur fiber"'
"#;
    let m = Matcher::compile(&Catalog::parse(src).unwrap()).unwrap();
    let spans = |text: &str| -> Vec<(String, String)> {
        m.find(&msg(text))
            .into_iter()
            .map(|m| (m.brand, m.span.text.to_string()))
            .collect()
    };
    // The NEAR hit spans Larkspur's mention; the phrase hit alone makes Corvid's.
    assert_eq!(
        spans("Switched from Corvid Telecom to Larkspur Fiber last week"),
        [
            ("corvid".to_string(), "Corvid Telecom".to_string()),
            ("larkspur".to_string(), "Larkspur Fiber".to_string())
        ]
    );
    // When the spanning hit is all the query has, the query's own match stands.
    assert_eq!(
        spans("Corvid gone, Larkspur Fiber now"),
        [
            (
                "corvid".to_string(),
                "Corvid gone, Larkspur Fiber".to_string()
            ),
            ("larkspur".to_string(), "Larkspur Fiber".to_string())
        ]
    );
}
