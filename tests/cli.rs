//! The command line without Kafka: the embedded file run, its contracts, and `earshot check`.

mod common;

use std::process::Command;

use common::{assert_valid, schema};

fn earshot() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_earshot"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

#[test]
fn sample_stream_file_run_gives_one_schema_valid_insight_or_dead_letter_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let (out, dead) = (dir.path().join("out.jsonl"), dir.path().join("dead.jsonl"));
    let run = earshot()
        .args(["file", "samples/stream.jsonl", "-o"])
        .arg(&out)
        .arg("--dead-letters")
        .arg(&dead)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary = String::from_utf8_lossy(&run.stderr);
    let input = std::fs::read_to_string("samples/stream.jsonl").unwrap();
    let lines: Vec<&str> = input.lines().filter(|l| !l.trim().is_empty()).collect();
    let insights: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let dead: Vec<serde_json::Value> = std::fs::read_to_string(&dead)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(insights.len() + dead.len(), lines.len(), "nothing lost");
    assert!(dead.len() >= 5, "the sample carries malformed lines");
    assert!(
        summary.contains(&format!(
            "{} insights, {} dead letters",
            insights.len(),
            dead.len()
        )),
        "{summary}"
    );
    let validator = schema("insight.v1.json");
    for i in &insights {
        assert_valid(&validator, i);
    }
    // The input contracts and the serde types agree: a line is valid against its JSON Schema
    // exactly when earshot accepted it.
    let post = schema("social_post.v1.json");
    let ticket = schema("support_ticket.v1.json");
    let accepted: std::collections::HashSet<i64> = insights
        .iter()
        .map(|i| i["source"]["offset"].as_i64().unwrap())
        .collect();
    for (n, line) in input.lines().enumerate() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            assert!(!accepted.contains(&(n as i64 + 1)));
            continue;
        };
        let valid = post.is_valid(&v) && v.get("platform").is_some()
            || ticket.is_valid(&v) && v.get("customer").is_some();
        assert_eq!(
            valid,
            accepted.contains(&(n as i64 + 1)),
            "line {}: {line}",
            n + 1
        );
    }
    // Several people appear on more than one channel.
    assert!(
        !summary.contains("people on more than one channel: 0"),
        "{summary}"
    );
}

#[test]
fn stdin_in_stdout_out() {
    use std::io::Write;
    let mut child = earshot()
        .arg("file")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"platform\":\"forum\",\"id\":\"1\",\"author\":{\"id\":\"a\",\"handle\":\"h\"},\"text\":\"I love it\",\"created_at\":\"2026-11-20T10:00:00Z\"}\n{oops\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["source"]["topic"], "stdin");
    assert_eq!(v["sentiment"]["label"], "positive");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("\"reason\":\"invalid_json\""), "{stderr}");
}

#[test]
fn check_accepts_the_shipped_config_and_names_bad_keys() {
    let ok = earshot()
        .args(["check", "--config", "config/earshot.toml"])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[pipeline]\nmax_in_flight = -3\n").unwrap();
    let out = earshot()
        .arg("check")
        .arg("--config")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pipeline.max_in_flight"), "{err}");
    let env = earshot()
        .args(["check", "--config", "config/earshot.toml"])
        .env("EARSHOT_HTTP__ADDRESS", "nowhere")
        .output()
        .unwrap();
    assert!(!env.status.success());
    assert!(String::from_utf8_lossy(&env.stderr).contains("http.address"));
    // A broken catalog is reported with its line.
    std::fs::write(
        dir.path().join("catalog.toml"),
        "[[brand]]\nid = \"x\"\nname = 3\n",
    )
    .unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "").unwrap();
    let out = earshot()
        .arg("check")
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3"), "{err}");
}
