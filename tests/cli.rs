//! The command line without Kafka: the embedded file run, its contracts, and `earshot check`.

mod common;

use std::process::Command;

use common::{assert_valid, schema};

/// The stderr of a run that must have failed.
fn failed(out: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "expected a failure: {err}");
    err
}

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
    // The sample's messages in other languages: tagged by their source (de, es) or detected (a
    // French post without a tag, a Dutch ticket). They keep their mentions and nothing else.
    let unread: Vec<&serde_json::Value> = insights
        .iter()
        .filter(|i| i.get("unread").is_some())
        .collect();
    let mut langs: Vec<(&str, &str)> = unread
        .iter()
        .map(|i| {
            (
                i["language"].as_str().unwrap(),
                i["language_source"].as_str().unwrap(),
            )
        })
        .collect();
    langs.sort();
    assert_eq!(
        langs,
        [
            ("de", "source"),
            ("es", "source"),
            ("fr", "detected"),
            ("nl", "detected")
        ]
    );
    for i in &unread {
        assert_eq!(i["unread"]["reason"], "unsupported_language");
        assert!(!i["mentions"].as_array().unwrap().is_empty(), "{i}");
        for absent in ["sentiment", "emotions", "intents", "context", "priority"] {
            assert!(i.get(absent).is_none(), "{absent}: {i}");
        }
    }
    assert!(
        summary.contains("not read (language): de 1, es 1, fr 1, nl 1"),
        "{summary}"
    );
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
    // The customer memory ran: identity links joined people across channels.
    assert!(summary.contains("identity links)"), "{summary}");
    assert!(
        !summary.contains("(0 on more than one channel"),
        "{summary}"
    );
}

/// Customer insights of a file run over the bundled sample, with the links given (the sample's
/// own by default); and the summary.
fn sample_customer_insights(links: Option<&std::path::Path>) -> (Vec<serde_json::Value>, String) {
    let dir = tempfile::tempdir().unwrap();
    let (out, ci) = (dir.path().join("out.jsonl"), dir.path().join("ci.jsonl"));
    let mut c = earshot();
    c.args(["file", "samples/stream.jsonl", "-o"])
        .arg(&out)
        .arg("--dead-letters")
        .arg(dir.path().join("dead.jsonl"))
        .arg("--customer-insights")
        .arg(&ci)
        .env("EARSHOT_PRIVACY_KEY", "a test secret of enough bytes");
    if let Some(l) = links {
        c.arg("--links").arg(l);
    }
    let run = c.output().unwrap();
    let summary = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "{summary}");
    let events = std::fs::read_to_string(&ci)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (events, summary)
}

#[test]
fn the_sample_hears_one_person_across_a_post_a_ticket_and_a_call() {
    let (events, summary) = sample_customer_insights(None);
    let validator = schema("customer_insight.v1.json");
    for e in &events {
        assert_valid(&validator, e);
        // Pseudonymous keys only: no names, no e-mail addresses.
        let text = e.to_string();
        assert!(
            !text.contains("Whitfield") && !text.contains("@whitfieldlegal"),
            "{text}"
        );
        assert!(e["customer"]["key"].as_str().unwrap().starts_with("c_"));
    }
    // Dana: a tweet, an e-mail, a call about the same fault, a competitor's quote on her desk.
    let dana = |e: &&serde_json::Value| {
        e["evidence"].as_array().unwrap().iter().any(|r| {
            r["quote"]
                .as_str()
                .unwrap()
                .starts_with("Call routing - third time")
        })
    };
    let mine: Vec<&serde_json::Value> = events.iter().filter(dana).collect();
    let types: Vec<&str> = mine.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(types.contains(&"repeated_effort"), "{types:?}");
    let at_risk = mine
        .iter()
        .find(|e| e["type"] == "valuable_at_risk")
        .expect("Dana is at risk");
    assert_eq!(at_risk["severity"], "critical");
    let channels: Vec<&str> = at_risk["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels, ["twitter", "email", "phone"]);
    let key = at_risk["customer"]["key"].as_str().unwrap();
    assert!(summary.contains("top customers at risk:"), "{summary}");
    assert!(summary.contains(key), "{summary}");
    for t in [
        "valuable_at_risk",
        "repeated_effort",
        "life_context",
        "advocate",
        "cross_line_opportunity",
    ] {
        assert!(
            events.iter().any(|e| e["type"] == t),
            "the sample shows {t}"
        );
    }

    // Without the links nobody joins her tweet to her tickets.
    let empty = tempfile::NamedTempFile::new().unwrap();
    let (unlinked, summary) = sample_customer_insights(Some(empty.path()));
    assert!(summary.contains("0 identity links"), "{summary}");
    let tweet_joined = unlinked.iter().any(|e| {
        let quotes: Vec<&str> = e["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["quote"].as_str().unwrap())
            .collect();
        quotes
            .iter()
            .any(|q| q.starts_with("@larkspurhelp our Larkspur Office Voice"))
            && quotes
                .iter()
                .any(|q| q.starts_with("Call routing - third time"))
    });
    assert!(!tweet_joined);
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

/// Runs `earshot file` over `input` on stdin with the environment given; the insights.
fn file_run(input: &str, env: &[(&str, &str)]) -> Vec<serde_json::Value> {
    use std::io::Write;
    let mut c = earshot();
    c.arg("file")
        .env_remove("EARSHOT_PRIVACY_KEY")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_ticket_s_brand_is_its_recipient_among_the_mentions() {
    // Sent to Larkspur, naming only its rival: the company written to is a mention too.
    let ticket = serde_json::json!({"id": "T-9", "channel": "email", "customer": {"id": "c-9"},
        "brand": "larkspur",
        "body": "Please cancel my broadband at the end of the month. I have a Corvid fiber contract now.",
        "created_at": "2026-11-20T10:00:00Z"});
    let mut unnamed = ticket.clone();
    unnamed.as_object_mut().unwrap().remove("brand");
    let out = file_run(&format!("{ticket}\n{unnamed}\n"), &[]);
    let validator = schema("insight.v1.json");
    for v in &out {
        assert_valid(&validator, v);
    }
    let brands = |v: &serde_json::Value| -> Vec<(String, bool, u64)> {
        v["mentions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["brand"].as_str().unwrap().to_string(),
                    m["recipient"] == true,
                    m["end"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let with = brands(&out[0]);
    assert!(
        with.contains(&("larkspur".to_string(), true, 0)),
        "{with:?}"
    );
    assert!(
        with.iter().any(|(b, r, e)| b == "corvid" && !r && *e > 0),
        "{with:?}"
    );
    assert!(brands(&out[1]).iter().all(|(b, r, _)| b == "corvid" && !r));
    // The message is read from its words: the same either way.
    for key in ["sentiment", "intents", "journey_phase", "context"] {
        assert_eq!(out[0][key], out[1][key], "{key}");
    }
}

#[test]
fn outputs_carry_pseudonymous_keys_and_can_redact_personal_data() {
    let ticket = serde_json::json!({"id": "T-1", "channel": "email",
        "customer": {"id": "crm-42", "email": "john.mercer@example.com", "name": "John Mercer"},
        "body": "Larkspur charged card 4111 1111 1111 1111 twice. Call me on +44 20 7946 0958 or john.mercer@example.com",
        "created_at": "2026-11-20T10:00:00Z"});
    let input = format!("{ticket}\n{ticket}\n");
    let secret = [("EARSHOT_PRIVACY_KEY", "a test secret of enough bytes")];
    let a = file_run(&input, &secret);
    let b = file_run(&input, &secret);
    let key = a[0]["party"]["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("c_") && key != "crm-42", "{key}");
    // The same person, the same key: within a run and across runs with the same secret.
    assert_eq!(a[1]["party"]["id"], key.as_str());
    assert_eq!(b[0]["party"]["id"], key.as_str());
    for i in &a {
        let party = i["party"].to_string();
        assert!(
            !party.contains("Mercer") && !party.contains("example.com"),
            "{party}"
        );
    }
    // Without the secret a file run still pseudonymises, with a key of its own.
    let random = file_run(&input, &[]);
    assert_ne!(random[0]["party"]["id"], key.as_str());
    assert!(random[0]["party"]["email"].is_null());
    // Text is redacted when configured, before the analysis: spans point into the redacted text.
    assert!(a[0]["text"].as_str().unwrap().contains("4111"));
    let r = file_run(
        &input,
        &[secret[0], ("EARSHOT_PRIVACY__REDACT_TEXT", "true")],
    );
    let text = r[0]["text"].as_str().unwrap();
    assert_eq!(
        text,
        "Larkspur charged card [card] twice. Call me on [phone] or [email]"
    );
    for m in r[0]["mentions"].as_array().unwrap() {
        let (s, e) = (
            m["start"].as_u64().unwrap() as usize,
            m["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(&text[s..e], m["text"].as_str().unwrap());
    }
    // Opting out keeps the source's ids.
    let kept = file_run(&input, &[("EARSHOT_PRIVACY__PSEUDONYMISE", "false")]);
    assert_eq!(kept[0]["party"]["id"], "crm-42");
}

#[test]
fn the_daemon_refuses_to_start_without_the_pseudonym_secret() {
    let out = earshot()
        .args(["run", "--config", "config/earshot.toml"])
        .env_remove("EARSHOT_PRIVACY_KEY")
        .output()
        .unwrap();
    let stderr = failed(&out);
    assert!(stderr.contains("EARSHOT_PRIVACY_KEY"), "{stderr}");
    assert!(stderr.contains("privacy.pseudonymise"), "{stderr}");
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
    let err = failed(&out);
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
    let err = failed(&out);
    assert!(err.contains("line 3"), "{err}");
}

/// The binary alone, as `cargo install` leaves it: copied out of the build tree and run from a
/// directory that holds nothing of this repository.
///
/// One copy serves every test: a copy written while another test forks a child leaves the child
/// holding it open for writing until its exec, and running the copy then fails with "Text file
/// busy". [`run_installed`] retries that error too.
fn installed() -> (
    &'static tempfile::TempDir,
    std::path::PathBuf,
    tempfile::TempDir,
) {
    static BIN_DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let bin_dir = BIN_DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_earshot"), dir.path().join("earshot")).unwrap();
        dir
    });
    let bin = bin_dir.path().join("earshot");
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("posts.jsonl"),
        concat!(
            r#"{"platform":"twitter","id":"1","author":{"id":"a1","handle":"ann"},"created_at":"2026-11-01T09:00:00Z","text":"Larkspur fiber has been down all morning, third outage this week"}"#,
            "\n",
            r#"{"platform":"twitter","id":"2","author":{"id":"a2","handle":"bob"},"created_at":"2026-11-01T09:01:00Z","text":"Switched to Larkspur broadband last month and it is brilliant"}"#,
            "\n",
        ),
    )
    .unwrap();
    (bin_dir, bin, work)
}

fn run_installed(
    bin: &std::path::Path,
    work: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    let mut tries = 0;
    loop {
        let out = Command::new(bin)
            .current_dir(work)
            .args(args)
            .env_remove("EARSHOT_CONFIG")
            .env_remove("EARSHOT_CATALOG__PATH")
            .output();
        match out {
            Err(e) if e.raw_os_error() == Some(26) && tries < 20 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other.unwrap(),
        }
    }
}

#[test]
fn an_installed_binary_runs_from_any_directory_on_the_built_in_catalog() {
    let (_bin_dir, bin, work) = installed();
    let out = run_installed(
        &bin,
        work.path(),
        &["file", "posts.jsonl", "--output", "insights.jsonl"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        err.matches("sample catalog built into earshot").count(),
        1,
        "said once: {err}"
    );
    let insights: Vec<serde_json::Value> =
        std::fs::read_to_string(work.path().join("insights.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    assert_eq!(insights.len(), 2, "{err}");
    for i in &insights {
        assert_eq!(i["mentions"][0]["brand"], "larkspur", "{i}");
    }
    assert_eq!(insights[0]["sentiment"]["label"], "negative");
    assert_eq!(insights[1]["sentiment"]["label"], "positive");
}

#[test]
fn a_configured_catalog_that_does_not_exist_names_the_setting_and_the_path_once() {
    let (_bin_dir, bin, work) = installed();
    let out = run_installed(
        &bin,
        work.path(),
        &["file", "posts.jsonl", "--catalog", "nope.toml"],
    );
    let err = failed(&out);
    assert!(
        err.contains("--catalog") && err.contains("nope.toml"),
        "{err}"
    );
    assert_eq!(
        err.matches("No such file").count(),
        1,
        "the cause once: {err}"
    );

    let out = Command::new(&bin)
        .current_dir(work.path())
        .args(["file", "posts.jsonl"])
        .env_remove("EARSHOT_CONFIG")
        .env("EARSHOT_CATALOG__PATH", "missing/catalog.toml")
        .output()
        .unwrap();
    let err = failed(&out);
    assert!(
        err.contains("catalog.path") && err.contains("missing/catalog.toml"),
        "{err}"
    );
    assert_eq!(
        err.matches("No such file").count(),
        1,
        "the cause once: {err}"
    );
    assert!(
        !err.contains("built into earshot"),
        "a configured path never falls back: {err}"
    );
}

#[test]
fn a_query_slip_names_the_brand_the_position_and_what_to_write() {
    let (_bin_dir, bin, work) = installed();
    std::fs::write(
        work.path().join("catalog.toml"),
        "[[brand]]\nid = \"brightwave\"\nname = \"Brightwave\"\nquery = 'brightwave OR @brightwave*'\n\
         [[brand.product]]\nid = \"brightwave-hub\"\nname = \"Hub\"\nquery = 'hub near/3 brightwave'\n",
    )
    .unwrap();
    let out = run_installed(
        &bin,
        work.path(),
        &["file", "posts.jsonl", "--catalog", "catalog.toml"],
    );
    let err = failed(&out);
    assert!(
        err.contains("brand brightwave: query at character 25"),
        "{err}"
    );
    assert!(err.contains("Write: @brightwave OR brightwave*"), "{err}");
    assert!(
        err.contains("product brightwave-hub: query at character 4"),
        "{err}"
    );
    assert!(err.contains("Write: hub NEAR/3 brightwave"), "{err}");
}

#[cfg(unix)]
#[test]
fn output_piped_into_a_reader_that_stops_early_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    // The file run writes about a megabyte of insights: far more than a pipe holds, so it is still
    // writing when the reader leaves after one line.
    let mut child = earshot()
        .args(["file", "samples/stream.jsonl"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with('{'), "{first}");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
    // Stopped by SIGPIPE, as `head` expects of a writer.
    assert_eq!(out.status.signal(), Some(13), "{:?} {stderr}", out.status);
}

#[test]
fn eval_complaints_reads_a_tagged_company_as_a_target_and_names_a_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("complaints.tsv");
    std::fs::write(
        &good,
        "x-0001\t1\tnegative\tso @BrightwellRail cancelled my 8:15 again, third time this week, absolutely useless service\n\
         x-0002\t1\tnegative\tKestrel Energy doubled my bill again and nobody answers the phone, disgraceful\n\
         x-0003\t0\tpositive\tlovely walk by the river with the dog this morning\n",
    )
    .unwrap();
    let out = earshot()
        .args(["eval-complaints", good.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("3 tweets, 2 complaints"), "{text}");
    // The company tagged mid-tweet is a target and its complaint is read; the one named only in
    // words, outside the catalog, has none and can't be.
    assert!(
        text.contains("tagging it elsewhere 1 of 1 (100.0%), tagging none 0 of 1 (0.0%)"),
        "{text}"
    );
    assert!(text.contains("lexicon negative = complaint"), "{text}");

    let bad = dir.path().join("bad.tsv");
    std::fs::write(
        &bad,
        "x-0001\t1\tnegative\tfine\nx-0002\tyes\tnegative\tno\n",
    )
    .unwrap();
    let out = earshot()
        .args(["eval-complaints", bad.to_str().unwrap()])
        .output()
        .unwrap();
    let err = failed(&out);
    assert!(err.contains("line 2: flag \"yes\" is not 0 or 1"), "{err}");
}

#[test]
fn eval_sentiment_reads_with_a_model_file_given_and_refuses_one_that_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let rated = dir.path().join("rated.tsv");
    std::fs::write(
        &rated,
        "r-1\t2.5\tthe new update is brilliant, love it\n\
         r-2\t-3.0\tworst support ever, three hours on hold and nothing fixed\n\
         r-3\t0.0\tthe store opens at nine on weekdays\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        earshot()
            .arg("eval-sentiment")
            .args(extra)
            .arg(rated.to_str().unwrap())
            .output()
            .unwrap()
    };
    let bundled = run(&[]);
    assert!(bundled.status.success(), "{bundled:?}");
    // The shipped model's file, given by path, is the bundled model: the same figures.
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/data/earshot/sentiment.model");
    let given = run(&["--model", shipped]);
    assert!(given.status.success(), "{given:?}");
    let text = String::from_utf8_lossy(&given.stdout);
    assert!(text.contains("rated.tsv"), "{text}");
    assert_eq!(bundled.stdout, given.stdout);
    // A file that is not a model is refused with its path, not read as one.
    let wrong = run(&["--model", rated.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(!wrong.status.success());
    assert!(err.contains("not a sentiment model"), "{err}");
}

#[test]
fn eval_sentiment_reads_a_folder_as_one_set_and_refuses_a_set_with_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set");
    std::fs::create_dir(&set).unwrap();
    std::fs::write(
        set.join("a.tsv"),
        "r-1\t2.5\tthe new update is brilliant, love it\n\
         r-2\t-3.0\tworst support ever, three hours on hold and nothing fixed\n",
    )
    .unwrap();
    std::fs::write(
        set.join("b.tsv"),
        "r-3\t0.0\tthe store opens at nine on weekdays\n",
    )
    .unwrap();
    let out = earshot()
        .args(["eval-sentiment", set.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    // One row for the folder, over both files' three rows.
    let row = text
        .lines()
        .find(|l| l.starts_with("set "))
        .expect("the folder's row");
    assert_eq!(row.split_whitespace().nth(1), Some("3"), "{text}");
    // A folder with nothing to read is an error that names it, not a row of zeros.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = earshot()
        .args(["eval-sentiment", empty.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no rows to read") && err.contains("empty"),
        "{err}"
    );
}

#[test]
fn train_sentiment_names_the_form_of_a_source_weight() {
    let out = earshot()
        .args(["train-sentiment", "--rated-weight", "tweets"])
        .output()
        .unwrap();
    let err = failed(&out);
    assert!(err.contains("expected STEM=WEIGHT"), "{err}");
    let out = earshot()
        .args(["train-sentiment", "--rated-weight", "tweets=-1"])
        .output()
        .unwrap();
    let err = failed(&out);
    assert!(err.contains("must be a finite number, 0 or more"), "{err}");
    // A stem that names no source is a slip, not a silent no-op.
    let out = earshot()
        .args(["train-sentiment", "--rated-weight", "tweets=2"])
        .output()
        .unwrap();
    let err = failed(&out);
    assert!(
        err.contains("no rated source has that stem") && err.contains("tweets_GroundTruth"),
        "{err}"
    );
}

#[test]
fn train_sentiment_refuses_to_skip_a_batch_the_corpus_lacks() {
    // A stem that names no batch is a slip (a batch renamed, a typo), not a silent no-op: the
    // model would read a batch the user meant it not to. Were it read anyway, the model goes to
    // a scratch folder, never over the shipped one. The stem is no batch name the corpus will
    // ever have (this test once used `b99`, until that batch was written).
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("sentiment.model");
    let out = earshot()
        .args(["train-sentiment", "--skip-batches", "b65,nosuch", "--out"])
        .arg(&model)
        .output()
        .unwrap();
    let err = failed(&out);
    assert!(
        err.contains("--skip-batches nosuch: no corpus batch has that stem"),
        "{err}"
    );
    assert!(!model.exists(), "no model is written");
}

#[test]
fn a_measuring_flag_of_train_signals_without_cross_batches_is_refused_not_a_training() {
    // Without --cross-batches each of these would train and write the shipped models over.
    for flags in [
        &["--irony-batches"][..],
        &["--complaint-batches"],
        &["--aspects"],
        &["--groups", "5"],
    ] {
        let out = earshot()
            .arg("train-signals")
            .args(flags)
            .args(["--out", "/nonexistent/signals.model"])
            .output()
            .unwrap();
        let err = failed(&out);
        assert!(err.contains("--cross-batches"), "{flags:?}: {err}");
    }
    let out = earshot()
        .args([
            "train-signals",
            "--one-sarcasm-threshold",
            "--untargeted-sarcasm-precision",
            "0.7",
        ])
        .output()
        .unwrap();
    let err = failed(&out);
    assert!(err.contains("cannot be used with"), "{err}");
    // One group would leave every batch out: nothing to train on.
    let out = earshot()
        .args(["train-signals", "--cross-batches", "--groups", "1"])
        .output()
        .unwrap();
    let err = failed(&out);
    assert!(err.contains("--groups"), "{err}");
    // The irony and complaint batches are left out one at a time: groups would be ignored.
    for other in ["--irony-batches", "--complaint-batches"] {
        let out = earshot()
            .args(["train-signals", "--cross-batches", "--groups", "5", other])
            .output()
            .unwrap();
        let err = failed(&out);
        assert!(err.contains("cannot be used with"), "{other}: {err}");
    }
}
