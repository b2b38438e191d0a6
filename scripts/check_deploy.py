#!/usr/bin/env python3
"""Checks the deployment files against each other and against earshot's own config.

Run by scripts/test.sh (which installs docker-compose, promtool, kubectl or kustomize, and
kubernetes-validate). Every check prints ok/FAIL; the last line is "N passed, M failed".

    python3 scripts/check_deploy.py [path/to/earshot-binary]
"""
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
EARSHOT = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "target/debug/earshot")
results = []


def check(name, fn):
    try:
        fn()
        results.append((name, None))
        print(f"ok    {name}")
    except Exception as e:  # noqa: BLE001 - report every failure, keep going
        results.append((name, e))
        print(f"FAIL  {name}: {e}")


def run(*cmd, cwd=ROOT):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p.stdout


def compose_cmd():
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise AssertionError("neither `docker compose` nor docker-compose is installed")


compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
svc = compose["services"]
config = tomllib.loads((ROOT / "config/earshot.toml").read_text())


def env_of(service):
    env = svc[service].get("environment", {})
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    return env


def earshot_topics():
    env = env_of("earshot")
    inputs = env.get("EARSHOT_KAFKA__INPUTS")
    names = re.findall(r'topic\s*=\s*"([^"]+)"', inputs) if inputs else [i["topic"] for i in config["kafka"]["inputs"]]
    out = env.get("EARSHOT_KAFKA__OUTPUT_TOPIC", config["kafka"]["output_topic"])
    dlq = env.get("EARSHOT_KAFKA__DEAD_LETTER_TOPIC", config["kafka"]["dead_letter_topic"])
    return names, out, dlq


def t_compose_config():
    run(*compose_cmd(), "-f", "docker-compose.yml", "config", "-q")


def t_compose_topics():
    inputs, out, dlq = earshot_topics()
    script = " ".join(svc["topics"]["command"])
    created = set(re.search(r"for t in ([^;]+);", script).group(1).split())
    missing = set(inputs + [out, dlq]) - created
    assert not missing, f"topics service does not create {missing}"
    replay = " ".join(svc["replay"]["command"])
    target = re.search(r"--topic (\S+)", replay).group(1)
    assert target in inputs, f"replay writes to {target}, earshot reads {inputs}"


def t_compose_wiring():
    env = env_of("earshot")
    kafka_env = env_of("kafka")
    advertised = kafka_env["KAFKA_ADVERTISED_LISTENERS"].split("//", 1)[1]
    assert env["EARSHOT_KAFKA__BROKERS"] == advertised, (env["EARSHOT_KAFKA__BROKERS"], advertised)
    port = config["http"]["address"].rsplit(":", 1)[1]
    assert any(str(p).endswith(f":{port}") for p in svc["earshot"]["ports"]), "earshot http port not published"
    prom = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = [t for sc in prom["scrape_configs"] for s in sc["static_configs"] for t in s["targets"]]
    assert f"earshot:{port}" in targets, targets
    for service, mounts in (("prometheus", svc["prometheus"]["volumes"]), ("grafana", svc["grafana"]["volumes"])):
        for m in mounts:
            src = m.split(":")[0]
            assert (ROOT / src).exists(), f"{service} mounts {src}, which does not exist"
    assert any(m.endswith(":/etc/prometheus/alerts.yml:ro") for m in svc["prometheus"]["volumes"])
    assert "/etc/prometheus/alerts.yml" in prom["rule_files"]
    ds = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    assert ds["datasources"][0]["url"] == "http://prometheus:9090"
    board = json.loads((ROOT / "deploy/grafana/dashboards/earshot.json").read_text())
    uids = {t["datasource"]["uid"] for p in board["panels"] for t in p["targets"]}
    assert uids == {ds["datasources"][0]["uid"]}, uids


def t_compose_memory():
    mem = svc["memory"]
    assert mem["command"] == ["run", "--role", "memory"], mem["command"]
    env, analysis = env_of("memory"), env_of("earshot")
    # Links are pseudonymised by the memory stage, parties by the analysers: one secret for both.
    assert env["EARSHOT_PRIVACY_KEY"] == analysis["EARSHOT_PRIVACY_KEY"]
    assert env["EARSHOT_KAFKA__BROKERS"] == analysis["EARSHOT_KAFKA__BROKERS"]
    state = env["EARSHOT_MEMORY__STATE_DIR"]
    volume = next(v.split(":")[0] for v in mem["volumes"] if v.split(":")[1] == state)
    assert volume in compose["volumes"], f"{volume} is not a named volume"
    assert f"chown 10001 {state}" in (ROOT / "Dockerfile").read_text(), "state dir not the user's"
    links_topic = config["memory"]["links_topic"]
    script = " ".join(svc["topics"]["command"])
    assert re.search(rf"--topic {links_topic} .*cleanup\.policy=compact", script), "links topic not compacted"
    replay = svc["links"]["command"][0]
    assert f"--topic {links_topic}" in replay
    # The replay's sed turns every line of the sample links into key|{"customer": id}.
    sed = re.search(r"sed -E ('[^']+') (\S+)", replay)
    program = sed.group(1).strip("'").replace("$$", "$")
    out = run("sed", "-E", program, "samples/links.jsonl")
    rows = [json.loads(l) for l in (ROOT / "samples/links.jsonl").read_text().splitlines() if l.strip()]
    lines = out.splitlines()
    assert len(lines) == len(rows) > 0
    for row, line in zip(rows, lines):
        key, value = line.split("|", 1)
        assert key == row["account"] and json.loads(value) == {"customer": row["customer"]}, line
    prom = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = [t for sc in prom["scrape_configs"] for s in sc["static_configs"] for t in s["targets"]]
    port = config["http"]["address"].rsplit(":", 1)[1]
    assert f"memory:{port}" in targets, targets


def t_compose_market():
    market = svc["market"]
    assert market["command"] == ["run", "--role", "market"], market["command"]
    env, analysis = env_of("market"), env_of("earshot")
    assert env["EARSHOT_KAFKA__BROKERS"] == analysis["EARSHOT_KAFKA__BROKERS"]
    # It reads the insights the analysis stage writes.
    out = analysis.get("EARSHOT_KAFKA__OUTPUT_TOPIC", config["kafka"]["output_topic"])
    assert env.get("EARSHOT_MARKET_STAGE__INPUT_TOPIC", out) == out
    state = env["EARSHOT_MARKET_STAGE__STATE_DIR"]
    volume = next(v.split(":")[0] for v in market["volumes"] if v.split(":")[1] == state)
    assert volume in compose["volumes"], f"{volume} is not a named volume"
    assert volume != next(v.split(":")[0] for v in svc["memory"]["volumes"]), "shares the memory's volume"
    assert f"chown 10001 {state}" in (ROOT / "Dockerfile").read_text(), "state dir not the user's"
    prom = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = [t for sc in prom["scrape_configs"] for s in sc["static_configs"] for t in s["targets"]]
    port = config["http"]["address"].rsplit(":", 1)[1]
    assert f"market:{port}" in targets, targets


def t_dockerfile():
    text = (ROOT / "Dockerfile").read_text()
    assert text.count("FROM ") >= 2, "multi-stage"
    assert re.search(r"^USER (?!root|0\b)\S+", text, re.M), "runs as non-root"
    assert "COPY config/earshot.toml config/catalog.toml /etc/earshot/" in text
    assert "ENV EARSHOT_CONFIG=/etc/earshot/earshot.toml" in text
    port = config["http"]["address"].rsplit(":", 1)[1]
    assert re.search(rf"HEALTHCHECK .*\n?.*127\.0\.0\.1:{port}/healthz", text), "HEALTHCHECK on /healthz"
    assert f"EXPOSE {port}" in text


def kustomize_build():
    if shutil.which("kubectl"):
        return run("kubectl", "kustomize", "deploy/kubernetes")
    return run("kustomize", "build", "deploy/kubernetes")


def t_kubernetes():
    docs = [d for d in yaml.safe_load_all(kustomize_build()) if d]
    kinds = {d["kind"] for d in docs}
    want = {"Deployment", "ConfigMap", "Service", "PodMonitor", "PodDisruptionBudget", "ScaledObject"}
    assert want <= kinds, f"missing {want - kinds}"
    import kubernetes_validate
    version = kubernetes_validate.latest_version()
    crds = {"PodMonitor", "ScaledObject", "TriggerAuthentication"}
    for d in docs:
        if d["kind"] in crds:
            assert d["apiVersion"] in ("monitoring.coreos.com/v1", "keda.sh/v1alpha1"), d["apiVersion"]
            continue
        kubernetes_validate.validate(d, version, strict=True)
    dep = next(d for d in docs if d["kind"] == "Deployment")
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["resources"]["requests"] and c["resources"]["limits"]
    kcfg = tomllib.loads((ROOT / "deploy/kubernetes/earshot.toml").read_text())
    assert pod["terminationGracePeriodSeconds"] > kcfg["pipeline"]["shutdown_timeout_secs"]
    port = int(kcfg["http"]["address"].rsplit(":", 1)[1])
    assert c["ports"][0]["containerPort"] == port
    secret_env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"] if "valueFrom" in e}
    assert {"EARSHOT_KAFKA_SASL_USERNAME", "EARSHOT_KAFKA_SASL_PASSWORD", "EARSHOT_PRIVACY_KEY"} <= set(secret_env)
    mount = next(m for m in c["volumeMounts"] if m["name"] == "config")["mountPath"]
    config_env = next(e["value"] for e in c["env"] if e["name"] == "EARSHOT_CONFIG")
    assert config_env == f"{mount}/earshot.toml", (config_env, mount)
    cm = next(d for d in docs if d["kind"] == "ConfigMap")
    assert set(cm["data"]) == {"earshot.toml", "catalog.toml"}
    assert cm["data"]["catalog.toml"] == (ROOT / "config/catalog.toml").read_text(), \
        "deploy/kubernetes/catalog.toml drifted from config/catalog.toml"
    # Each stateful stage: a StatefulSet of its role with its state on a volume claim.
    sets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "StatefulSet"}
    for role, env_name in (("memory", "EARSHOT_MEMORY__STATE_DIR"), ("market", "EARSHOT_MARKET_STAGE__STATE_DIR")):
        st = sets[f"earshot-{role}"]
        sc = st["spec"]["template"]["spec"]["containers"][0]
        assert sc["args"] == ["run", "--role", role], sc["args"]
        state = next(e["value"] for e in sc["env"] if e["name"] == env_name)
        claim = st["spec"]["volumeClaimTemplates"][0]["metadata"]["name"]
        assert any(m["name"] == claim and m["mountPath"] == state for m in sc["volumeMounts"]), role
        assert sc["readinessProbe"]["httpGet"]["path"] == "/readyz"
        # Static membership: each pod's stable name is its member id.
        member = next(e for e in sc["env"] if e["name"] == "EARSHOT_KAFKA__GROUP_INSTANCE_ID")
        assert member["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name", (role, member)
    # A Deployment names its pods anew at each start: a member id there would name a member that
    # never comes back, whose partitions wait out its session.
    assert all(e["name"] != "EARSHOT_KAFKA__GROUP_INSTANCE_ID" for e in c["env"]), "Deployment"
    # The PodMonitor scrapes every stage's pods, named as the job the alert rules watch.
    pm = next(d for d in docs if d["kind"] == "PodMonitor")
    wanted = pm["spec"]["selector"]["matchLabels"]
    job_label = pm["spec"]["jobLabel"]
    for w in [dep, *sets.values()]:
        labels = w["spec"]["template"]["metadata"]["labels"]
        assert wanted.items() <= labels.items(), (w["metadata"]["name"], labels)
        assert labels[job_label] == "earshot", (w["metadata"]["name"], labels)
        ports = [p["name"] for p in w["spec"]["template"]["spec"]["containers"][0]["ports"]]
        assert pm["spec"]["podMetricsEndpoints"][0]["port"] in ports, w["metadata"]["name"]
    assert 'job="earshot"' in (ROOT / "deploy/prometheus/alerts.yml").read_text()
    so = next(d for d in docs if d["kind"] == "ScaledObject")
    assert so["spec"]["triggers"][0]["metadata"]["consumerGroup"] == kcfg["kafka"]["group_id"]


def t_kubernetes_config_checks():
    run(EARSHOT, "check", "--config", "deploy/kubernetes/earshot.toml")


def t_promtool():
    run("promtool", "check", "rules", "alerts.yml", cwd=ROOT / "deploy/prometheus")
    run("promtool", "test", "rules", "alerts_test.yml", cwd=ROOT / "deploy/prometheus")


def t_dashboard_json():
    board = json.loads((ROOT / "deploy/grafana/dashboards/earshot.json").read_text())
    titles = " ".join(p["title"].lower() for p in board["panels"])
    for want in ("throughput", "lag", "latency", "dead letters", "sentiment", "mentions", "share of voice", "alerts"):
        assert want in titles, f"no panel about {want}"


for name, fn in [
    ("docker compose config", t_compose_config),
    ("compose creates every topic earshot uses, replay feeds an input", t_compose_topics),
    ("compose wiring: brokers, ports, scrape target, mounts, datasource", t_compose_wiring),
    ("compose memory stage: role, shared secret, state volume, compacted links + replay, scrape", t_compose_memory),
    ("compose market stage: role, input, state volume, scrape", t_compose_market),
    ("Dockerfile: multi-stage, non-root, config inside, HEALTHCHECK", t_dockerfile),
    ("kustomize build + Kubernetes schemas + probes, grace period, secrets", t_kubernetes),
    ("earshot check accepts the Kubernetes config", t_kubernetes_config_checks),
    ("promtool check rules + test rules", t_promtool),
    ("dashboard panels", t_dashboard_json),
]:
    check(name, fn)

failed = sum(1 for _, e in results if e)
print(f"{len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
