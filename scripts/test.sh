#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what it needs, starts a real single-node Apache
# Kafka (scripts/kafka.sh), then runs cargo fmt --check, clippy with warnings as errors, and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: a C toolchain, perl and make build librdkafka (through rdkafka-sys); libssl-dev and
# pkg-config give it TLS and SASL/SCRAM; Java 17 and Maven run the Kafka broker; prometheus ships
# promtool and docker-compose validates the compose file (the deploy checks); python3-venv holds
# kubernetes-validate.
need=()
for pkg in build-essential ca-certificates pkg-config libssl-dev zlib1g-dev perl python3 python3-venv prometheus docker-compose; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
# Headless Chromium opens the market report (scripts/report_check.sh).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  ${SUDO:-} apt-get update -qq
  ${SUDO:-} apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

echo "== corpus checks (format and rules of every batch; the frozen test splits unchanged)"
python3 scripts/corpus_check.py data/earshot/corpus/batches/*.jsonl
sha256sum -c - <<'SUMS'
a5373f9b21a8c9fc6ba970d1a14cabca1d905cb55a2cb6265db305f1d79f5d95  data/earshot/corpus/batches/t01.jsonl
30c792ae99d2ecd5a986b9cb8f47500242c54141a498c45b4769e4cfcd8d8410  data/earshot/corpus/batches/t02.jsonl
0c814da5ebd363e604bb01df37ef9d4819204309fcfaa9e1c94988264750867a  data/earshot/corpus/batches/t03.jsonl
SUMS
python3 scripts/agreement.py --check
echo "== customer memory scenario set unchanged (its test split is frozen)"
sha256sum -c - <<'SUMS'
03758f3efe2da006c828f766d06c060ebd4da13f45cb8c542a4e2ebaf0b72d35  tests/memory/scenarios/m01.jsonl
ba45a7443f86cb562ba8d212108e4879cb2d6c16d24acbd7dc597905743995cd  tests/memory/scenarios/m02.jsonl
a0760b84b133ca50b14c132ba76b953bfffd784b38b2fcc0cfcc91c13fdd789c  tests/memory/scenarios/m03.jsonl
82ba0a78c555e581e993feedae0b63a125128e55f51591d37612cd33bff09d6d  tests/memory/scenarios/m04.jsonl
9b2daf43103de430554794a9f22de823ad3d470fc18f50a5243dfeccbc1dce27  tests/memory/scenarios/m05.jsonl
SUMS
echo "== the sentiment batches' frozen test batch unchanged"
sha256sum -c - <<'SUMS'
99f83c3c2606c284d0ddbc5d07db8d019fc37e9c12e142faa2e6a67ccdc255ee  data/earshot/sentiment/test/st1.tsv
SUMS

echo "== starting Kafka"
export KAFKA_PORT=${KAFKA_PORT:-19092}
export KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-19093}
trap 'scripts/kafka.sh stop' EXIT
scripts/kafka.sh start
export EARSHOT_TEST_KAFKA=127.0.0.1:$KAFKA_PORT

echo "== cargo test"
cargo test --all-targets

echo "== the market report in a real browser (headless Chromium; screenshot in target/report-check)"
bash scripts/report_check.sh target/debug/earshot

echo "== chaos (short): kills, a broker restart; every input exactly one output (a broker of its own)"
bash scripts/chaos.sh --short

echo "== deploy checks (compose, Dockerfile, Kubernetes, alert rules)"
venv=target/deploy-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check kubernetes-validate==1.34.1 pyyaml
if ! command -v kubectl >/dev/null 2>&1 && ! command -v kustomize >/dev/null 2>&1; then
  # kustomize from the Go module proxy, when the machine has Go but no kubectl.
  GOBIN="$PWD/target/go-bin" go install sigs.k8s.io/kustomize/kustomize/v5@v5.4.3
  export PATH="$PWD/target/go-bin:$PATH"
fi
"$venv/bin/python" scripts/check_deploy.py target/debug/earshot
