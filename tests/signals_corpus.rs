//! The learned signals on the earshot corpus, through the whole pipeline as `earshot eval-signals`
//! runs it. The dev split is where the thresholds were tuned, so its floor guards against a
//! regression, not for accuracy; the frozen test split is measured by the command, not here.

use std::path::Path;

use earshot::analyze::Analyzer;
use earshot::catalog::Catalog;
use earshot::decode::{KindHint, Limits};
use earshot::insight::SourceRef;
use earshot::process::process;
use earshot::signals::corpus::{self, Split};
use earshot::signals::eval::{evaluate, family_total, Case};
use earshot::signals::model::{addresses_an_account, BRAND_DIRECTED};
use earshot::signals::names::NameModel;

fn corpus_rows() -> Vec<corpus::Row> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/earshot/corpus/batches");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| corpus::parse(&std::fs::read_to_string(f).unwrap()).unwrap())
        .collect()
}

/// The corpus's dev split, as the evaluation reads it.
fn dev_cases() -> Vec<Case> {
    corpus_rows()
        .iter()
        .enumerate()
        .filter(|(_, r)| r.split() == Split::Dev)
        .map(|(n, r)| Case::of_row(r, n))
        .collect()
}

fn analyzer() -> Analyzer {
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/earshot/corpus/catalog.toml");
    Analyzer::new(Catalog::parse(&std::fs::read_to_string(catalog).unwrap()).unwrap()).unwrap()
}

fn run(analyzer: &Analyzer, bytes: &[u8], line: usize) -> Option<serde_json::Value> {
    let at = SourceRef {
        topic: "corpus".into(),
        partition: 0,
        offset: line as i64,
    };
    let now = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    let insight = process(
        Some(bytes),
        KindHint::Auto,
        Limits::default(),
        analyzer,
        at,
        now,
    );
    serde_json::to_value(insight.ok()?).ok()
}

#[test]
fn the_dev_split_stays_above_its_floor() {
    let a = analyzer();
    let dev = dev_cases();
    assert!(dev.len() >= 800, "{}", dev.len());
    let report = evaluate(&dev, |b, l| run(&a, b, l));
    // Tuned figures (train-signals): context 0.625, effort 0.662, intents 0.751, phase 0.676.
    for (family, floor) in [
        ("context", 0.58),
        ("effort", 0.62),
        ("intent", 0.71),
        ("phase", 0.63),
        // moment:hard and moment:happy, micro-F1 over the dev rows (a life event missed or
        // invented counts too; the training batches label every life event's moment).
        ("moment", 0.8),
    ] {
        let f1 = family_total(&report, family).f1();
        assert!(f1 >= floor, "{family}: F1 {f1:.3} under {floor}");
    }
}

#[test]
fn a_life_event_and_only_a_life_event_says_its_moment() {
    let a = analyzer();
    let (mut hard, mut happy) = (0, 0);
    for (n, row) in corpus_rows().iter().enumerate().step_by(7) {
        let event = run(&a, row.input().to_string().as_bytes(), n).unwrap();
        for c in event["context"].as_array().into_iter().flatten() {
            match (c["label"].as_str(), c["moment"].as_str()) {
                (Some("life_event"), Some("hard")) => hard += 1,
                (Some("life_event"), Some("happy")) => happy += 1,
                (Some("life_event"), m) => panic!("{}: life event with moment {m:?}", row.id),
                (l, m) => assert!(m.is_none(), "{}: {l:?} with moment {m:?}", row.id),
            }
        }
    }
    assert!(hard >= 20 && happy >= 10, "hard {hard}, happy {happy}");
}

#[test]
fn no_brand_directed_reading_without_a_target() {
    let a = analyzer();
    let names = NameModel::bundled().unwrap();
    let mut untargeted = 0;
    for (n, row) in corpus_rows().iter().enumerate() {
        if row.is_ticket() || row.addressed.is_some() {
            continue;
        }
        let event = run(&a, row.input().to_string().as_bytes(), n).unwrap();
        if !event["mentions"].as_array().unwrap().is_empty()
            || addresses_an_account(&row.text)
            || names.names(&row.text)
        {
            continue;
        }
        untargeted += 1;
        // A row in a language the analysers do not read has no intents at all.
        for i in event["intents"].as_array().into_iter().flatten() {
            let label = format!("intent:{}", i["label"].as_str().unwrap());
            assert!(
                !BRAND_DIRECTED.contains(&label.as_str()),
                "{}: {label}",
                row.id
            );
        }
        assert!(event.get("journey_phase").is_none(), "{}", row.id);
    }
    assert!(untargeted >= 500, "{untargeted} rows with no target");
}

/// The sample catalog built into earshot: none of the corpus's brands is in it.
fn analyzer_without_the_corpus_brands() -> Analyzer {
    Analyzer::new(Catalog::parse(earshot::catalog::SAMPLE).unwrap()).unwrap()
}

#[test]
fn posts_about_brands_the_catalog_does_not_list_are_read_too() {
    // The dev split read with a catalog that lists none of its brands: a post that names one is
    // still a target (the names model), so its intents and phase are read. Without the names
    // model this read intents 0.706 and phase 0.558 (2026-12-05); with the corpus's catalog
    // 0.95 / 0.96 (the dev split is where thresholds are tuned: a regression guard).
    let a = analyzer_without_the_corpus_brands();
    let dev = dev_cases();
    let report = evaluate(&dev, |b, l| run(&a, b, l));
    for (family, floor) in [("intent", 0.85), ("phase", 0.8)] {
        let f1 = family_total(&report, family).f1();
        assert!(f1 >= floor, "{family}: F1 {f1:.3} under {floor}");
    }
}

#[test]
fn general_posts_that_name_no_brand_get_no_brand_directed_reading() {
    // The signals issue's general tweets: posts that name no brand (read by people,
    // data/earshot/names/) and tag no account. The sentiment batches' test split and st1, which
    // no model reads: brand-directed intents on under 2% of them.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut named = std::collections::HashMap::new();
    for f in ["general.tsv", "st1.tsv"] {
        let text = std::fs::read_to_string(root.join("data/earshot/names").join(f)).unwrap();
        named.extend(earshot::signals::names::parse_labels(&text).unwrap());
    }
    let mut posts = Vec::new();
    let batches = root.join("data/earshot/sentiment/batches");
    let mut files: Vec<_> = std::fs::read_dir(&batches)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(root.join("data/earshot/sentiment/test/st1.tsv"));
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        // As written: the posts go through the daemon's decoding, which normalises them once.
        for r in earshot::sentiment::eval::parse_rated_as_written(&text).unwrap() {
            let held_out =
                r.id.starts_with("st") || earshot::polarity::data::split_of(&r.id) == Split::Test;
            if held_out && !named[&r.id] && !r.text.contains('@') {
                posts.push(r.text);
            }
        }
    }
    assert!(posts.len() >= 1500, "{} posts", posts.len());
    let a = analyzer_without_the_corpus_brands();
    let mut directed = 0;
    for (n, text) in posts.iter().enumerate() {
        let input = serde_json::json!({"platform": "twitter", "id": format!("g{n}"),
            "author": {"id": format!("a{n}"), "handle": format!("a{n}")},
            "text": text, "created_at": "2026-11-20T10:00:00Z"});
        let event = run(&a, input.to_string().as_bytes(), n).unwrap();
        directed += usize::from(event["intents"].as_array().into_iter().flatten().any(|i| {
            BRAND_DIRECTED.contains(&format!("intent:{}", i["label"].as_str().unwrap()).as_str())
        }));
    }
    let rate = directed as f64 / posts.len() as f64;
    assert!(rate < 0.02, "{directed} of {} ({rate:.3})", posts.len());
}

#[test]
fn the_unlisted_brand_an_insight_names_is_the_brand_the_post_is_about() {
    // Dev posts about one of the corpus's brands, read with a catalog that lists none of them:
    // where the insight says which unlisted brand it read, that word is one of the brand's names
    // (its catalog entry's name, products or query words). 99.1% on 2026-12-05.
    let source = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/earshot/corpus/catalog.toml"),
    )
    .unwrap();
    let catalog = Catalog::parse(&source).unwrap();
    let words_of = |brand: &str| -> Vec<String> {
        let b = catalog.brands.iter().find(|b| b.id == brand).unwrap();
        let mut text = format!("{} {}", b.name, b.query);
        for p in &b.products {
            text.push_str(&format!(" {} {}", p.name, p.query));
        }
        text.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let a = analyzer_without_the_corpus_brands();
    let (mut named, mut right) = (0, 0);
    for (n, row) in corpus_rows().iter().enumerate() {
        if row.split() != Split::Dev || row.is_ticket() || row.mentions.is_empty() {
            continue;
        }
        let event = run(&a, row.input().to_string().as_bytes(), n).unwrap();
        let Some(name) = event["unlisted_brand"]["text"].as_str() else {
            continue;
        };
        named += 1;
        let name = name.to_lowercase();
        right += usize::from(
            row.mentions
                .iter()
                .any(|m| words_of(&m.brand).contains(&name)),
        );
    }
    assert!(named >= 1500, "{named} posts with an unlisted brand");
    let share = right as f64 / named as f64;
    assert!(share >= 0.95, "{right} of {named} ({share:.3})");
}

#[test]
fn a_reply_reaches_the_brand_whose_post_it_answers() {
    // The training batches' replies to a brand's post whose text tags no account: the account
    // replied to comes beside the text (`in_reply_to_handle`). Each insight has that brand among
    // its mentions, marked the recipient; where the writer read a brand-directed intent, the
    // insight reads one too on most of them (train and dev rows: a regression guard; the
    // frozen `t03` is measured by `earshot eval-signals`).
    let a = analyzer();
    let (mut replies, mut directed, mut read) = (0, 0, 0);
    for (n, row) in corpus_rows().iter().enumerate() {
        let (Some(_), Some(brand)) = (&row.reply_to, &row.addressed) else {
            continue;
        };
        if row.split() == Split::Test {
            continue;
        }
        replies += 1;
        let event = run(&a, row.input().to_string().as_bytes(), n).unwrap();
        let mentions = event["mentions"].as_array().unwrap();
        assert!(
            mentions
                .iter()
                .any(|m| m["brand"] == brand.as_str() && m["recipient"] == true),
            "{}: {mentions:?}",
            row.id
        );
        if row
            .intents
            .iter()
            .any(|i| BRAND_DIRECTED.contains(&format!("intent:{i}").as_str()))
        {
            directed += 1;
            read += usize::from(event["intents"].as_array().into_iter().flatten().any(|i| {
                BRAND_DIRECTED
                    .contains(&format!("intent:{}", i["label"].as_str().unwrap()).as_str())
            }));
        }
    }
    assert!(replies >= 200, "{replies} replies");
    let share = read as f64 / directed as f64;
    assert!(share >= 0.8, "{read} of {directed} ({share:.3})");
}
