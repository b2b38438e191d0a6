//! The market stage (`earshot run --role market`) against a real broker: one instance and three
//! give the last revision of every window exactly as a file run (`earshot trends`) does over the
//! same insights, a SIGKILLed instance's successor counts nothing twice, bad insights are
//! dead-lettered, and every event is valid against its schema.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use rdkafka::producer::{BaseRecord, Producer};

const WAIT: Duration = Duration::from_secs(60);

/// Thirty days: the sample's insights are read in any order the partitions give, and none may be
/// too late for its window (the result would then depend on that order, as it should).
const LATENESS: &str = "2592000";

/// The topics, group and settings of one market stage under test.
struct Market {
    insights: String,
    repartition: String,
    changelog: String,
    volumes: String,
    trends: String,
    alerts: String,
    dead: String,
    group: String,
}

impl Market {
    fn new(name: &str, partitions: i32) -> Market {
        let m = Market {
            insights: unique(&format!("{name}-insights")),
            repartition: unique(&format!("{name}-repartition")),
            changelog: unique(&format!("{name}-changelog")),
            volumes: unique(&format!("{name}-volumes")),
            trends: unique(&format!("{name}-trends")),
            alerts: unique(&format!("{name}-alerts")),
            dead: unique(&format!("{name}-dlq")),
            group: unique(&format!("{name}-group")),
        };
        create_topics(&[&m.insights, &m.dead], partitions);
        m
    }

    /// Starts an instance with its own state folder.
    fn start(&self, state: &std::path::Path) -> Daemon {
        self.start_with(state, &[])
    }

    fn start_with(&self, state: &std::path::Path, env: &[(&str, &str)]) -> Daemon {
        let args = ["run", "--role", "market"];
        Daemon::spawn(&args, &self.group, &self.dead, &self.group, |cmd| {
            // The market stage needs no privacy key (it reads pseudonymous insights).
            cmd.env_remove("EARSHOT_PRIVACY_KEY")
                .env("EARSHOT_MARKET__ALLOWED_LATENESS_SECONDS", LATENESS)
                .env("EARSHOT_MARKET_STAGE__INPUT_TOPIC", &self.insights)
                .env("EARSHOT_MARKET_STAGE__REPARTITION_TOPIC", &self.repartition)
                .env("EARSHOT_MARKET_STAGE__CHANGELOG_TOPIC", &self.changelog)
                .env("EARSHOT_MARKET_STAGE__VOLUMES_TOPIC", &self.volumes)
                .env("EARSHOT_MARKET_STAGE__TRENDS_TOPIC", &self.trends)
                .env("EARSHOT_MARKET_STAGE__ALERTS_TOPIC", &self.alerts)
                .env("EARSHOT_MARKET_STAGE__STATE_DIR", state)
                .env("EARSHOT_MARKET_STAGE__COMMIT_INTERVAL_MS", "200")
                .env("EARSHOT_MARKET_STAGE__IDLE_CLOSE_SECONDS", "2")
                .envs(env.iter().copied());
        })
    }

    /// Produces insights keyed by party, as the analysis stage does.
    fn produce(&self, insights: &[String]) {
        let p = producer();
        for i in insights {
            let v: serde_json::Value = serde_json::from_str(i).unwrap();
            let key = v["party"]["id"].as_str().unwrap_or("").to_string();
            p.send(BaseRecord::to(&self.insights).key(&key).payload(i))
                .map_err(|(e, _)| e)
                .expect("queued");
        }
        p.flush(Duration::from_secs(10))
            .expect("insights acknowledged");
    }

    /// Reads the trends topic until its last revisions equal `want` (or the timeout); returns
    /// them and every event read.
    fn trends_until(
        &self,
        want: &BTreeMap<String, String>,
        timeout: Duration,
    ) -> (BTreeMap<String, String>, Vec<serde_json::Value>) {
        let mut last = Finals::default();
        let mut all = Vec::new();
        read_until(&self.trends, timeout, |r| {
            let v = r.json();
            last.add(&v);
            all.push(v);
            last.finals() == *want
        });
        (last.finals(), all)
    }
}

/// The current state of every window as a reader keeps it — the last event of its `window_id`
/// (a brand's events share a partition, in emission order) — without the emission's id and
/// revision number (a window may be revised a different number of times).
#[derive(Default)]
struct Finals(BTreeMap<String, String>);

impl Finals {
    fn add(&mut self, t: &serde_json::Value) {
        let window = t["window_id"].as_str().unwrap().to_string();
        let mut t = t.clone();
        t["id"] = serde_json::Value::Null;
        t["revision"] = serde_json::Value::Null;
        // A theme's status (new, rising) is a verdict at the window's close, on what it held
        // then: messages that arrive out of order across partitions may change it, nothing else.
        if let Some(themes) = t["themes"].as_array_mut() {
            for th in themes {
                th["status"] = serde_json::Value::Null;
            }
        }
        self.0.insert(window, t.to_string());
    }

    fn finals(&self) -> BTreeMap<String, String> {
        self.0.clone()
    }
}

/// The bundled sample through `earshot file`: the insights the analysis stage makes of it.
fn sample_insights() -> Vec<String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .current_dir(root)
        .args([
            "file",
            "samples/stream.jsonl",
            "--dead-letters",
            "/dev/null",
        ])
        .env("EARSHOT_PRIVACY_KEY", TEST_PRIVACY_KEY)
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(lines.len() > 300, "{}", lines.len());
    lines
}

/// `earshot trends` over the same insights, with the same lateness: the reference.
fn file_run(insights: &[String]) -> BTreeMap<String, String> {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .args(["trends"])
        .env("EARSHOT_MARKET__ALLOWED_LATENESS_SECONDS", LATENESS)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all((insights.join("\n") + "\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let mut finals = Finals::default();
    for l in String::from_utf8(out.stdout).unwrap().lines() {
        finals.add(&serde_json::from_str(l).unwrap());
    }
    finals.finals()
}

/// Brand readings the insights make: each insight's distinct brands.
fn readings(insights: &[String]) -> f64 {
    insights
        .iter()
        .map(|i| {
            let v: serde_json::Value = serde_json::from_str(i).unwrap();
            let mut brands: Vec<String> = v["mentions"]
                .as_array()
                .map(|ms| {
                    ms.iter()
                        .filter_map(|m| m["brand"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            brands.sort();
            brands.dedup();
            brands.len() as f64
        })
        .sum()
}

fn diff(got: &BTreeMap<String, String>, want: &BTreeMap<String, String>) -> String {
    let missing = want.keys().filter(|k| !got.contains_key(*k)).count();
    let extra = got.keys().filter(|k| !want.contains_key(*k)).count();
    let differ: Vec<_> = want
        .iter()
        .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
        .collect();
    let first = differ
        .first()
        .map(|(k, v)| format!("\nwant {v}\ngot  {}", got[*k]))
        .unwrap_or_default();
    format!(
        "{} windows, want {}: {missing} missing, {extra} extra, {} differ{first}",
        got.len(),
        want.len(),
        differ.len()
    )
}

#[test]
fn one_instance_or_three_give_the_windows_a_file_run_gives() {
    let insights = sample_insights();
    let want = file_run(&insights);
    assert!(want.len() > 400, "{}", want.len());
    let schema = schema("trend.v1.json");
    for instances in [1usize, 3] {
        let m = Market::new(&format!("market-{instances}"), 6);
        let dirs: Vec<_> = (0..instances)
            .map(|_| tempfile::tempdir().unwrap())
            .collect();
        let mut running: Vec<Daemon> = dirs.iter().map(|d| m.start(d.path())).collect();
        for d in &mut running {
            d.wait_ready(WAIT);
        }
        let mut with_bad = insights.clone();
        with_bad.insert(10, "{\"not\": \"an insight\"}".to_string());
        m.produce(&with_bad);
        let (got, events) = m.trends_until(&want, Duration::from_secs(120));
        assert!(
            got == want,
            "{instances} instance(s): {}",
            diff(&got, &want)
        );
        for e in &events {
            assert_valid(&schema, e);
        }
        // The bad one is a dead letter that says why.
        let dead = read_n(&m.dead, 1, WAIT);
        assert_eq!(dead.len(), 1);
        assert_eq!(
            dead[0].headers.get("earshot.reason").map(String::as_str),
            Some("invalid_insight")
        );
        // Each brand reading applied once over the instances (a redelivery during the group's
        // rebalances is counted as a duplicate).
        let want_readings = readings(&insights);
        let applied = || -> f64 {
            running
                .iter()
                .map(|d| d.metric("earshot_market_readings_total{result=\"applied\"}"))
                .sum()
        };
        let start = Instant::now();
        while start.elapsed() < WAIT && applied() < want_readings {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(applied(), want_readings);
    }
}

#[test]
fn a_killed_instance_counts_nothing_twice() {
    let insights = sample_insights();
    let want = file_run(&insights);
    let m = Market::new("market-kill", 4);
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // A batch of ten seconds: killed once its first trends are out, its readings, trends and
    // volumes are in their topics and none of its state or offsets is committed.
    let mut a = m.start_with(
        dir_a.path(),
        &[("EARSHOT_MARKET_STAGE__COMMIT_INTERVAL_MS", "10000")],
    );
    a.wait_ready(WAIT);
    let half = insights.len() / 2;
    m.produce(&insights[..half]);
    let first = read_n(&m.trends, 1, WAIT);
    assert_eq!(first.len(), 1, "no trend before the kill");
    a.signal("KILL");
    a.wait(WAIT);
    m.produce(&insights[half..]);
    // A successor on another machine (an empty state folder): restored from the changelog.
    let mut b = m.start(dir_b.path());
    b.wait_ready(WAIT);
    let (got, _) = m.trends_until(&want, Duration::from_secs(120));
    assert!(got == want, "{}", diff(&got, &want));
    // The first half was routed twice (by the killed instance and again by its successor): the
    // second routing's readings were skipped, each once.
    let start = Instant::now();
    let applied = || b.metric("earshot_market_readings_total{result=\"applied\"}");
    while start.elapsed() < WAIT && applied() < readings(&insights) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(applied(), readings(&insights));
    // A batch's counts are added one result after another: wait for the duplicates' too.
    let series = "earshot_market_readings_total{result=\"duplicate\"}";
    b.wait_metric(series, readings(&insights[..half]), WAIT);
    assert_eq!(b.metric(series), readings(&insights[..half]));
}
