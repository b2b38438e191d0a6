//! End-to-end tests against a real Apache Kafka broker (started by scripts/test.sh).

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use common::*;

const WAIT: Duration = Duration::from_secs(60);

#[test]
fn n_mixed_messages_in_n_schema_valid_insights_out() {
    let s = Setup::new("mixed", 3);
    let n = 300;
    produce(&s.input, &valid_inputs(n));
    let mut d = Daemon::start(&s);
    let out = read_n(&s.output, n, WAIT);
    assert_eq!(out.len(), n, "exactly one insight per message");
    let validator = schema("insight.v1.json");
    let mut sources = HashSet::new();
    for r in &out {
        let v = r.json();
        assert_valid(&validator, &v);
        // Keyed by the person, so one person's insights stay in order on one partition.
        assert_eq!(
            r.key.as_deref(),
            v["party"]["id"].as_str().map(str::as_bytes)
        );
        sources.insert((
            v["source"]["partition"].as_i64(),
            v["source"]["offset"].as_i64(),
        ));
    }
    assert_eq!(sources.len(), n, "every input position has its insight");
    // Give it a moment: nothing more should come.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(read_n(&s.output, n + 1, Duration::from_secs(2)).len(), n);
    assert!(read_n(&s.dead, 1, Duration::from_secs(1)).is_empty());
    d.signal("TERM");
    assert_eq!(d.wait(WAIT), Some(0));
}

#[test]
fn malformed_messages_become_dead_letters_with_their_reason() {
    let s = Setup::new("malformed", 1);
    let good = valid_inputs(2);
    let oversize = format!(
        "{{\"platform\":\"x\",\"id\":\"big\",\"author\":{{\"id\":\"a\",\"handle\":\"h\"}},\"text\":\"{}\",\"created_at\":\"2026-11-20T10:00:00Z\"}}",
        "a".repeat(5000)
    );
    let cases: Vec<(Option<Vec<u8>>, &str)> = vec![
        (Some(b"{\"platform\": \"twitter\", ".to_vec()), "invalid_json"),
        (Some(br#"{"platform":"twitter","id":"1","author":{"id":"a","handle":"h"},"text":7,"created_at":"2026-11-20T10:00:00Z"}"#.to_vec()), "schema_violation"),
        (Some(br#"{"platform":"twitter","id":"1","author":{"id":"a","handle":"h"},"created_at":"2026-11-20T10:00:00Z"}"#.to_vec()), "schema_violation"),
        (Some(vec![b'{', 0xc3, 0x28, b'}']), "not_utf8"),
        (Some(oversize.into_bytes()), "too_large"),
        (Some(Vec::new()), "empty"),
        (None, "null_value"),
        (Some(b"{\"what\": 1}".to_vec()), "unknown_kind"),
    ];
    let mut values = vec![good[0].clone()];
    values.extend(cases.iter().map(|c| c.0.clone()));
    values.push(good[1].clone());
    produce(&s.input, &values);
    let d = Daemon::start_with(&s, &[("EARSHOT_PIPELINE__MAX_MESSAGE_BYTES", "4096")]);
    let dead = read_n(&s.dead, cases.len(), WAIT);
    let out = read_n(&s.output, 2, WAIT);
    assert_eq!(
        out.len(),
        2,
        "valid messages around the bad ones still produce insights"
    );
    assert_eq!(dead.len(), cases.len());
    for r in &dead {
        let offset: usize = r.headers["earshot.source.offset"].parse().unwrap();
        let (original, reason) = &cases[offset - 1];
        assert_eq!(&r.headers["earshot.reason"], reason, "offset {offset}");
        assert_eq!(r.headers["earshot.source.topic"], s.input);
        assert_eq!(r.headers["earshot.source.partition"], "0");
        assert!(!r.headers["earshot.message"].is_empty());
        // Original bytes and original headers travel with the dead letter.
        assert_eq!(
            r.value.clone().unwrap_or_default(),
            original.clone().unwrap_or_default()
        );
        assert_eq!(r.headers["test-seq"], offset.to_string());
    }
    // Counters agree, and the daemon is still alive and ready.
    let start = Instant::now();
    while d.metric("earshot_insights_produced_total") < 2.0 && start.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        d.metric("earshot_dead_letters_total{reason=\"schema_violation\"}"),
        2.0
    );
    assert_eq!(
        d.metric("earshot_dead_letters_total{reason=\"null_value\"}"),
        1.0
    );
    assert_eq!(d.get("/readyz").map(|r| r.0), Some(200));
}

#[test]
fn an_insight_too_large_to_send_is_a_dead_letter_and_the_partition_goes_on() {
    // The producer may send records of 20,000 bytes; a post of 25,000 is read (the input limit
    // is 1 MiB) but neither its insight nor its own bytes fit in a record. Under both guarantees
    // it becomes a dead letter without its value, and the messages after it are analysed.
    for guarantee in ["at_least_once", "exactly_once"] {
        let s = Setup::new(&format!("too-large-{}", &guarantee[..5]), 1);
        let good = valid_inputs(2);
        let big = serde_json::json!({
            "platform": "x",
            "id": "big",
            "author": {"id": "a", "handle": "h"},
            "text": "Larkspur is slow again today. ".repeat(840),
            "created_at": "2026-11-20T10:00:00Z"
        })
        .to_string()
        .into_bytes();
        assert!(big.len() > 25_000);
        produce(
            &s.input,
            &[good[0].clone(), Some(big.clone()), good[1].clone()],
        );
        let mut d = Daemon::start_with(
            &s,
            &[
                ("EARSHOT_PIPELINE__GUARANTEE", guarantee),
                (
                    "EARSHOT_KAFKA__PRODUCER",
                    "{\"message.max.bytes\" = \"20000\"}",
                ),
            ],
        );
        let dead = read_n(&s.dead, 1, WAIT);
        let out = read_n(&s.output, 2, WAIT);
        assert_eq!(
            out.len(),
            2,
            "{guarantee}: the messages around it are analysed"
        );
        assert_eq!(dead.len(), 1, "{guarantee}");
        let r = &dead[0];
        assert_eq!(
            r.headers["earshot.reason"], "insight_too_large",
            "{guarantee}"
        );
        assert_eq!(r.headers["earshot.source.offset"], "1");
        assert!(
            r.headers["earshot.message"].contains("message.max.bytes"),
            "{:?}",
            r.headers
        );
        assert_eq!(
            r.headers["earshot.payload_omitted"],
            big.len().to_string(),
            "{guarantee}"
        );
        assert!(r.value.clone().unwrap_or_default().is_empty());
        // All three offsets are committed: nothing holds the partition.
        let start = Instant::now();
        while committed(&s.group, &s.input, 1) != vec![3] && start.elapsed() < WAIT {
            std::thread::sleep(Duration::from_millis(200));
        }
        assert_eq!(committed(&s.group, &s.input, 1), vec![3], "{guarantee}");
        assert_eq!(
            d.metric("earshot_dead_letters_total{reason=\"insight_too_large\"}"),
            1.0
        );
        d.signal("TERM");
        assert_eq!(d.wait(WAIT), Some(0), "{guarantee}");
    }
}

#[test]
fn sigkill_mid_stream_then_restart_loses_nothing() {
    let s = Setup::new("sigkill", 3);
    let n = 6000;
    produce(&s.input, &valid_inputs(n));
    let mut first = Daemon::start_with(&s, &[("EARSHOT_PIPELINE__MAX_IN_FLIGHT", "50")]);
    let partial = read_n(&s.output, 300, WAIT);
    assert!(partial.len() >= 300, "first run made progress");
    first.signal("KILL");
    assert_eq!(first.wait(WAIT), None, "killed by the signal");
    let progressed = read_n(&s.output, n * 2, Duration::from_secs(2)).len();
    assert!(
        progressed < n,
        "killed mid-stream ({progressed} of {n} done)"
    );

    let mut second = Daemon::start(&s);
    let mut by_source: HashMap<(i64, i64), BTreeSet<String>> = HashMap::new();
    let out = read_distinct(&s.output, n, WAIT * 2, source_of);
    for r in &out {
        let v = r.json();
        let key = (
            v["source"]["partition"].as_i64().unwrap(),
            v["source"]["offset"].as_i64().unwrap(),
        );
        by_source
            .entry(key)
            .or_default()
            .insert(v["id"].as_str().unwrap().to_string());
    }
    assert_eq!(by_source.len(), n, "every input has an insight");
    let dupes = out.len() - n;
    for (src, ids) in &by_source {
        assert_eq!(
            ids.len(),
            1,
            "duplicates of {src:?} carry one id, got {ids:?}"
        );
    }
    eprintln!(
        "sigkill: {n} inputs, {} outputs, {dupes} duplicates (all with identical ids)",
        out.len()
    );
    second.signal("TERM");
    assert_eq!(second.wait(WAIT), Some(0));
}

#[test]
fn sigterm_exits_cleanly_and_commits_exactly_what_was_produced() {
    let s = Setup::new("sigterm", 2);
    let n = 6000;
    produce(&s.input, &valid_inputs(n));
    let mut d = Daemon::start_with(&s, &[("EARSHOT_PIPELINE__MAX_IN_FLIGHT", "50")]);
    let some = read_n(&s.output, 200, WAIT);
    assert!(some.len() >= 200);
    d.signal("TERM");
    assert_eq!(d.wait(WAIT), Some(0), "clean exit on SIGTERM");
    let out = read_until(&s.output, Duration::from_secs(5), |_| false);
    let committed = committed(&s.group, &s.input, s.partitions);
    let mut offsets: HashMap<i64, BTreeSet<i64>> = HashMap::new();
    for r in &out {
        let v = r.json();
        offsets
            .entry(v["source"]["partition"].as_i64().unwrap())
            .or_default()
            .insert(v["source"]["offset"].as_i64().unwrap());
    }
    let total: usize = offsets.values().map(BTreeSet::len).sum();
    assert_eq!(total, out.len(), "a clean run produces no duplicates");
    for p in 0..s.partitions {
        let got = offsets.remove(&(p as i64)).unwrap_or_default();
        let c = committed[p as usize].max(0);
        let expected: BTreeSet<i64> = (0..c).collect();
        assert_eq!(
            got, expected,
            "partition {p}: outputs are exactly the offsets below the commit {c}"
        );
    }
    eprintln!(
        "sigterm: {} of {n} processed before the stop, committed {committed:?}",
        out.len()
    );
}

#[test]
fn metrics_and_readiness_match_what_was_sent() {
    let s = Setup::new("metrics", 2);
    let mut values = valid_inputs(39);
    // One post in a language the analysers do not read, without a tag: detected, counted unread.
    values.push(Some(
        serde_json::json!({
            "platform": "twitter", "id": "de-1", "author": {"id": "u-de", "handle": "h"},
            "created_at": "2026-11-20T10:00:00Z",
            "text": "Der Larkspur Router ist eine Katastrophe, seit drei Tagen kein Internet!"
        })
        .to_string()
        .into_bytes(),
    ));
    values.push(Some(b"not json".to_vec()));
    values.push(None);
    let d = Daemon::start(&s);
    let mut d = d;
    d.wait_ready(WAIT);
    assert_eq!(d.get("/healthz").map(|r| r.0), Some(200));
    produce(&s.input, &values);
    assert_eq!(read_n(&s.output, 40, WAIT).len(), 40);
    let start = Instant::now();
    while d.metric("earshot_insights_produced_total") < 40.0 && start.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(100));
    }
    let consumed = format!("earshot_messages_consumed_total{{topic=\"{}\"}}", s.input);
    assert_eq!(d.metric(&consumed), 42.0);
    assert_eq!(d.metric("earshot_insights_produced_total"), 40.0);
    assert_eq!(
        d.metric("earshot_insight_languages_total{language=\"de\",read=\"false\"}"),
        1.0
    );
    assert_eq!(
        d.metric("earshot_insight_languages_total{language=\"en\",read=\"true\"}"),
        39.0
    );
    assert_eq!(
        d.metric("earshot_dead_letters_total{reason=\"invalid_json\"}"),
        1.0
    );
    assert_eq!(
        d.metric("earshot_dead_letters_total{reason=\"null_value\"}"),
        1.0
    );
    assert_eq!(d.metric("earshot_in_flight_messages"), 0.0);
    assert_eq!(d.metric("earshot_processing_duration_seconds_count"), 42.0);
    assert_eq!(d.metric("earshot_end_to_end_latency_seconds_count"), 42.0);
    assert_eq!(d.metric("earshot_kafka_assigned_partitions"), 2.0);
    assert_eq!(d.metric("earshot_build_info{version=\"0.1.0\"}"), 1.0);
    assert!(d.metric("process_resident_memory_bytes") > 0.0);
    // Lag comes from librdkafka statistics, every 500 ms here.
    let lag = format!(
        "earshot_kafka_consumer_lag_messages{{partition=\"0\",topic=\"{}\"}}",
        s.input
    );
    let start = Instant::now();
    let body = loop {
        let (_, body) = d.get("/metrics").unwrap();
        if body.contains(&lag) || start.elapsed() > WAIT {
            break body;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(parse_metric(&body, &lag), 0.0, "caught up: lag 0\n{body}");
    assert!(body.contains(&lag), "lag series present");
    assert_eq!(d.get("/readyz").map(|r| r.0), Some(200));
    d.signal("TERM");
    assert_eq!(d.wait(WAIT), Some(0));
}

#[test]
fn two_instances_split_partitions_and_failover_loses_nothing() {
    let s = Setup::new("group", 4);
    let mut a = Daemon::start(&s);
    a.wait_ready(WAIT);
    let mut b = Daemon::start(&s);
    b.wait_ready(WAIT);
    // Wait for the rebalance to settle: each holds two partitions.
    let start = Instant::now();
    while (a.metric("earshot_kafka_assigned_partitions") != 2.0
        || b.metric("earshot_kafka_assigned_partitions") != 2.0)
        && start.elapsed() < WAIT
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(a.metric("earshot_kafka_assigned_partitions"), 2.0);
    assert_eq!(b.metric("earshot_kafka_assigned_partitions"), 2.0);
    let n = 400;
    produce(&s.input, &valid_inputs(n));
    assert_eq!(read_n(&s.output, n, WAIT).len(), n);
    let consumed = format!("earshot_messages_consumed_total{{topic=\"{}\"}}", s.input);
    let (ca, cb) = (a.metric(&consumed), b.metric(&consumed));
    assert!(ca > 0.0 && cb > 0.0, "both instances worked: {ca} + {cb}");
    assert_eq!(ca + cb, n as f64);

    a.signal("TERM");
    assert_eq!(a.wait(WAIT), Some(0));
    let start = Instant::now();
    while b.metric("earshot_kafka_assigned_partitions") != 4.0 && start.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        b.metric("earshot_kafka_assigned_partitions"),
        4.0,
        "b took over a's partitions"
    );
    // A second batch, with different ids: all of it must arrive through b.
    let second: Vec<_> = valid_inputs(2 * n).into_iter().skip(n).collect();
    produce(&s.input, &second);
    let out = read_distinct(&s.output, 2 * n, WAIT, |x| {
        x.json()["id"].as_str().unwrap().to_string()
    });
    let ids: HashSet<_> = out
        .iter()
        .map(|x| x.json()["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2 * n, "nothing lost across the failover");
    assert!(b.metric(&consumed) >= cb + n as f64);
    b.signal("TERM");
    assert_eq!(b.wait(WAIT), Some(0));
}

fn post(id: &str, text: &str) -> Option<Vec<u8>> {
    Some(
        serde_json::to_vec(&serde_json::json!({
            "platform": "forum", "id": id, "author": {"id": "a", "handle": "h"},
            "text": text, "created_at": "2026-11-20T10:00:00Z"
        }))
        .unwrap(),
    )
}

fn brand_catalog(id: &str, query: &str) -> String {
    format!("[[brand]]\nid = \"{id}\"\nname = \"{id}\"\nquery = '{query}'\n")
}

fn brands(r: &common::Record) -> Vec<String> {
    r.json()["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["brand"].as_str().unwrap().to_string())
        .collect()
}

/// A ready daemon whose catalog (brand "acme") is a file of its own, checked every
/// `interval` seconds (0: only on SIGHUP). Keep the returned folder alive while the daemon runs.
fn daemon_with_catalog(
    s: &Setup,
    interval: &str,
) -> (tempfile::TempDir, std::path::PathBuf, Daemon) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.toml");
    std::fs::write(&path, brand_catalog("acme", "acme")).unwrap();
    let p = path.to_string_lossy().to_string();
    let mut d = Daemon::start_with(
        s,
        &[
            ("EARSHOT_CATALOG__PATH", &p),
            ("EARSHOT_CATALOG__WATCH_INTERVAL_SECS", interval),
        ],
    );
    d.wait_ready(WAIT);
    (dir, path, d)
}

#[test]
fn catalog_changes_apply_live_and_bad_catalogs_are_rejected() {
    let s = Setup::new("reload", 1);
    let (_dir, path, mut d) = daemon_with_catalog(&s, "1");
    produce(&s.input, &[post("1", "zorblax is great")]);
    let out = read_n(&s.output, 1, WAIT);
    assert!(brands(&out[0]).is_empty());
    let v1 = out[0].json()["catalog_version"].clone();

    std::fs::write(&path, brand_catalog("zorblax", "zorblax")).unwrap();
    d.wait_metric("earshot_catalog_reloads_total", 1.0, WAIT);
    produce(&s.input, &[post("2", "zorblax is great")]);
    let out = read_n(&s.output, 2, WAIT);
    assert_eq!(brands(&out[1]), ["zorblax"], "the new catalog applies");
    assert_ne!(out[1].json()["catalog_version"], v1);

    std::fs::write(&path, brand_catalog("zorblax", "(zorblax")).unwrap();
    d.wait_metric("earshot_catalog_reload_failures_total", 1.0, WAIT);
    produce(&s.input, &[post("3", "zorblax again")]);
    let out = read_n(&s.output, 3, WAIT);
    assert_eq!(
        brands(&out[2]),
        ["zorblax"],
        "a broken catalog leaves the old one in place"
    );
    assert_eq!(d.metric("earshot_catalog_reloads_total"), 1.0);
    d.signal("TERM");
    assert_eq!(d.wait(WAIT), Some(0));
}

#[test]
fn sighup_reloads_the_catalog() {
    let s = Setup::new("sighup", 1);
    let (_dir, path, mut d) = daemon_with_catalog(&s, "0");
    std::fs::write(&path, brand_catalog("zorblax", "zorblax")).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        d.metric("earshot_catalog_reloads_total"),
        0.0,
        "no polling: waits for SIGHUP"
    );
    d.signal("HUP");
    d.wait_metric("earshot_catalog_reloads_total", 1.0, WAIT);
    produce(&s.input, &[post("1", "zorblax is great")]);
    let out = read_n(&s.output, 1, WAIT);
    assert_eq!(brands(&out[0]), ["zorblax"]);
    d.signal("TERM");
    assert_eq!(d.wait(WAIT), Some(0));
}

/// Metric names (`earshot_*`, `process_*`) that a text refers to.
fn referenced_metrics(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("earshot_") || w.starts_with("process_"))
        .map(String::from)
        .collect()
}

#[test]
fn dashboard_and_alerts_query_only_exported_metrics() {
    let s = Setup::new("dashboard", 1);
    let mut d = Daemon::start(&s);
    d.wait_ready(WAIT);
    let mut values = valid_inputs(5);
    values.push(Some(b"{broken".to_vec()));
    produce(&s.input, &values);
    assert_eq!(read_n(&s.output, 5, WAIT).len(), 5);
    // Lag series appear with the first statistics after consuming.
    let lag = format!(
        "earshot_kafka_consumer_lag_messages{{partition=\"0\",topic=\"{}\"}}",
        s.input
    );
    let start = Instant::now();
    let body = loop {
        let (_, body) = d.get("/metrics").unwrap();
        if (body.contains(&lag) && body.contains("earshot_mentions_total{"))
            || start.elapsed() > WAIT
        {
            break body;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let names = |body: &str| -> BTreeSet<String> {
        body.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| l.split(['{', ' ']).next().unwrap().to_string())
            .collect()
    };
    let mut exported = names(&body);
    // The market stage's series are per brand: they appear once it holds a brand (the same
    // registry, another role). Its exposition with one brand and one alert:
    let market = earshot::shell::metrics::Metrics::new();
    let m = &market.market;
    for g in [
        &m.window_messages,
        &m.window_net_sentiment,
        &m.window_share_of_voice,
    ] {
        g.with_label_values(&["larkspur"]).set(1.0);
    }
    m.alerts.with_label_values(&["larkspur", "high"]).inc();
    exported.extend(names(&market.render()));
    let root = env!("CARGO_MANIFEST_DIR");
    let dashboard =
        std::fs::read_to_string(format!("{root}/deploy/grafana/dashboards/earshot.json")).unwrap();
    let board: serde_json::Value = serde_json::from_str(&dashboard).unwrap();
    let exprs: String = board["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .map(|t| t["expr"].as_str().unwrap().to_string() + "\n")
        .collect();
    let alerts = std::fs::read_to_string(format!("{root}/deploy/prometheus/alerts.yml")).unwrap();
    for (what, text) in [("dashboard", exprs), ("alert rules", alerts)] {
        let used = referenced_metrics(&text);
        assert!(!used.is_empty());
        let missing: Vec<_> = used.difference(&exported).collect();
        assert!(
            missing.is_empty(),
            "{what} query metrics earshot does not export: {missing:?}"
        );
    }
    d.signal("TERM");
    assert_eq!(d.wait(WAIT), Some(0));
}
