//! The market view: `earshot trends` and `earshot report` over the sample's insights, the trend and
//! alert contracts, and the alerts on a generated stream.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::Command;

use common::{assert_valid, schema};
use earshot::market::{eval, Market, Output, Policy};

fn earshot() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_earshot"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn run(c: &mut Command) -> String {
    let out = c.output().expect("earshot runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    stderr
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .expect("output file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// The sample's insights and customer insights, as `earshot file` writes them.
fn sample(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (ins, cust) = (dir.join("insights.jsonl"), dir.join("customers.jsonl"));
    run(earshot()
        .args([
            "file",
            "samples/stream.jsonl",
            "--links",
            "samples/links.jsonl",
        ])
        .arg("-o")
        .arg(&ins)
        .arg("--customer-insights")
        .arg(&cust)
        .arg("--dead-letters")
        .arg(dir.join("dead.jsonl")));
    (ins, cust)
}

/// The last revision of each window.
fn finals(trends: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    let mut last: HashMap<&str, &serde_json::Value> = HashMap::new();
    for t in trends {
        let id = t["window_id"].as_str().expect("window_id");
        if last
            .get(id)
            .is_none_or(|k| k["revision"].as_u64() < t["revision"].as_u64())
        {
            last.insert(id, t);
        }
    }
    last.into_values().collect()
}

#[test]
fn trends_of_the_sample_add_up_and_keep_their_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ins, _) = sample(dir.path());
    let (trends_path, alerts_path) = (dir.path().join("t.jsonl"), dir.path().join("a.jsonl"));
    let summary = run(earshot()
        .arg("trends")
        .arg(&ins)
        .arg("-o")
        .arg(&trends_path)
        .arg("--alerts")
        .arg(&alerts_path));
    let trends = lines(&trends_path);
    assert!(
        summary.contains(&format!("{} trend events", trends.len())),
        "{summary}"
    );
    let validator = schema("trend.v1.json");
    for t in &trends {
        assert_valid(&validator, t);
    }
    // Messages per brand, from the insights: a brand named twice in a message counts once.
    let insights = lines(&ins);
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    let mut about_brands = 0;
    for i in &insights {
        let brands: HashSet<&str> = i["mentions"]
            .as_array()
            .expect("mentions")
            .iter()
            .filter_map(|m| m["brand"].as_str())
            .collect();
        for b in brands {
            *expected.entry(b.to_string()).or_default() += 1;
        }
        about_brands += u64::from(i["mentions"].as_array().is_some_and(|m| !m.is_empty()));
    }
    let too_late: u64 = summary
        .split(", ")
        .find_map(|p| p.trim().strip_suffix(" too late"))
        .and_then(|n| n.trim().parse().ok())
        .expect("the summary says how many came too late");
    assert!(too_late < about_brands / 20, "{summary}");
    // Every window size sees every message that was not too late, once, in its last revisions.
    let finals = finals(&trends);
    for size in [3_600, 86_400] {
        let mut got: BTreeMap<String, u64> = BTreeMap::new();
        for t in finals.iter().filter(|t| {
            t["dimension"] == "brand" && t["window"]["size_seconds"].as_u64() == Some(size)
        }) {
            *got.entry(t["key"].as_str().expect("key").to_string())
                .or_default() += t["volume"].as_u64().expect("volume");
        }
        let total_got: u64 = got.values().sum();
        let total_expected: u64 = expected.values().sum();
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>()
        );
        assert!(
            total_got <= total_expected && total_got + 2 * too_late >= total_expected,
            "size {size}: {got:?} against {expected:?}, {too_late} too late"
        );
    }
    // Share of voice: the brands of one window add up to one.
    let mut sov: HashMap<(u64, &str), f64> = HashMap::new();
    for t in finals.iter().filter(|t| t["dimension"] == "brand") {
        let key = (
            t["window"]["size_seconds"].as_u64().expect("size"),
            t["window"]["start"].as_str().expect("start"),
        );
        *sov.entry(key).or_default() += t["share_of_voice"].as_f64().expect("share of voice");
    }
    assert!(sov.values().all(|s| (s - 1.0).abs() < 1e-9), "{sov:?}");
    // The sample's complaints make themes (Cloud Drive's sync failing, said on several days), and
    // a theme's quotes say it.
    let themes: Vec<&serde_json::Value> = finals
        .iter()
        .filter(|t| t["key"] == "larkspur")
        .flat_map(|t| t["themes"].as_array().expect("themes"))
        .collect();
    let labels: Vec<&str> = themes.iter().filter_map(|t| t["label"].as_str()).collect();
    assert!(labels.contains(&"sync failing"), "{labels:?}");
    for t in &themes {
        let label = t["label"].as_str().expect("label");
        for q in t["quotes"].as_array().expect("quotes") {
            let quote = q["text"].as_str().expect("text").to_lowercase();
            // Said in some form: "charged twice" is the theme of "charge me twice".
            let root = |w: &str| w.chars().take(5).collect::<String>();
            assert!(
                label.split(' ').all(|w| quote.contains(&root(w))),
                "{label:?} in {quote:?}"
            );
        }
    }
    assert!(alerts_path.exists());
}

#[test]
fn alerts_on_a_generated_stream_keep_their_contract_and_find_incidents() {
    let (stream, incidents) = eval::generate(eval::TEST_SEEDS[0]);
    let mut market = Market::new(Policy::default());
    let mut alerts = Vec::new();
    for h in &stream {
        for o in market.observe_heard(h, |_| "a quote".into()) {
            if let Output::Alert(a) = o {
                alerts.push(a);
            }
        }
    }
    let validator = schema("alert.v1.json");
    assert!(!alerts.is_empty());
    for a in &alerts {
        assert_valid(&validator, &serde_json::to_value(a).expect("alert to JSON"));
    }
    // Ids are stable: a replay raises the same alerts.
    let mut again = Market::new(Policy::default());
    let ids: Vec<_> = stream
        .iter()
        .flat_map(|h| again.observe_heard(h, |_| "a quote".into()))
        .filter_map(|o| match o {
            Output::Alert(a) => Some(a.id),
            Output::Trend(_) => None,
        })
        .collect();
    assert_eq!(ids, alerts.iter().map(|a| a.id).collect::<Vec<_>>());
    assert!(!incidents.is_empty());
    let f = eval::evaluate(&Policy::default(), &eval::TEST_SEEDS[..1]);
    assert!(f.detected_share() >= 0.5, "{f:?}");
    assert!(f.false_per_day() <= 0.6, "{f:?}");
}

#[test]
fn the_report_is_one_page_with_its_data_inside() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ins, cust) = sample(dir.path());
    let page = dir.path().join("report.html");
    run(earshot()
        .arg("report")
        .arg(&ins)
        .arg(&cust)
        .arg("-o")
        .arg(&page)
        .args(["--title", "Larkspur <weekly>"]));
    let html = std::fs::read_to_string(&page).expect("the page");
    assert!(html.contains("<title>Larkspur &lt;weekly&gt;</title>"));
    // Self-contained: nothing fetched from anywhere.
    for outside in ["http://", "https://", "src=\"", "@import"] {
        let hits: Vec<&str> = html
            .match_indices(outside)
            .map(|(i, _)| &html[i.saturating_sub(30)..(i + 40).min(html.len())])
            .filter(|c| !c.contains("www.w3.org/2000/svg"))
            .collect();
        assert!(hits.is_empty(), "{outside}: {hits:?}");
    }
    let start = html.find("id=\"data\">").expect("data element") + "id=\"data\">".len();
    let end = start + html[start..].find("</script>").expect("its end");
    let data: serde_json::Value = serde_json::from_str(&html[start..end]).expect("data is JSON");
    let brands: Vec<&str> = data["series"]
        .as_array()
        .expect("series")
        .iter()
        .filter_map(|s| s["brand"].as_str())
        .collect();
    assert_eq!(brands, ["corvid", "larkspur", "skylane"]);
    let share: f64 = data["totals"]
        .as_array()
        .expect("totals")
        .iter()
        .filter_map(|t| t["share_of_voice"].as_f64())
        .sum();
    assert!((share - 1.0).abs() < 1e-9);
    let customers = data["customers"].as_array().expect("customers");
    assert!(!customers.is_empty(), "the sample raises customer insights");
    assert_eq!(customers[0]["severity"], "critical");
    assert!(data["insights"].as_u64() > Some(300));
}

#[test]
fn a_file_run_writes_the_same_trends_as_trends_over_its_insights() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ins, live) = (dir.path().join("i.jsonl"), dir.path().join("live.jsonl"));
    let summary = run(earshot()
        .args(["file", "samples/stream.jsonl", "-o"])
        .arg(&ins)
        .arg("--dead-letters")
        .arg(dir.path().join("d.jsonl"))
        .arg("--trends")
        .arg(&live)
        .arg("--alerts")
        .arg(dir.path().join("a.jsonl")));
    let after = dir.path().join("after.jsonl");
    run(earshot().arg("trends").arg(&ins).arg("-o").arg(&after));
    let (live, after) = (lines(&live), lines(&after));
    assert!(!live.is_empty());
    assert_eq!(live, after);
    assert!(
        summary.contains(&format!("market:       {} trend events", live.len())),
        "{summary}"
    );
    assert!(summary.contains("themes new or rising:"), "{summary}");
}
