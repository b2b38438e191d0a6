#!/usr/bin/env bash
# The market view, measured: insights per second on one core (the pure core and the stage's
# per-reading work, examples/market_speed.rs), then the latency of a window's first emission
# through a running market stage on a real broker (examples/market_load.rs): insights said now, at
# RATE a second for SECONDS, windows of a minute and a watermark delay of 5 s.
#
#   bash scripts/market_bench.sh [COUNT] [RATE] [SECONDS]   # defaults: 1000000 500 180
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000000}
rate=${2:-500}
seconds=${3:-180}
if [ -z "${KAFKA_STATE_DIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  export KAFKA_STATE_DIR=/dev/shm/earshot-kafka-market
fi
export KAFKA_PORT=${KAFKA_PORT:-49192} KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-49193}
brokers=127.0.0.1:$KAFKA_PORT
cargo build --release -q --bin earshot --example market_speed --example market_load --example kafkaload
bin=target/release
state=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null && wait $pid; scripts/kafka.sh stop; rm -rf "$state"; case "${KAFKA_STATE_DIR:-}" in /dev/shm/*) rm -rf "$KAFKA_STATE_DIR" ;; esac' EXIT

echo "== one core, no Kafka"
taskset -c 1 $bin/examples/market_speed "$count"

echo "== a window's first emission through the stage ($rate insights a second for $seconds s)"
scripts/kafka.sh start
name=mk-$RANDOM
$bin/examples/kafkaload create "$brokers" 4 "$name-insights" "$name-dlq"
$bin/earshot file samples/stream.jsonl -o "$state/insights.jsonl" --dead-letters /dev/null >/dev/null
port=$((KAFKA_PORT + 10))
env EARSHOT_KAFKA__BROKERS=$brokers EARSHOT_KAFKA__GROUP_ID=$name \
  EARSHOT_KAFKA__DEAD_LETTER_TOPIC=$name-dlq EARSHOT_MARKET_STAGE__INPUT_TOPIC=$name-insights \
  EARSHOT_MARKET_STAGE__REPARTITION_TOPIC=$name-repartition \
  EARSHOT_MARKET_STAGE__CHANGELOG_TOPIC=$name-changelog \
  EARSHOT_MARKET_STAGE__VOLUMES_TOPIC=$name-volumes EARSHOT_MARKET_STAGE__TRENDS_TOPIC=$name-trends \
  EARSHOT_MARKET_STAGE__ALERTS_TOPIC=$name-alerts EARSHOT_MARKET_STAGE__STATE_DIR=$state/stores \
  EARSHOT_MARKET_STAGE__COMMIT_INTERVAL_MS=200 EARSHOT_MARKET_STAGE__IDLE_CLOSE_SECONDS=2 \
  'EARSHOT_MARKET__WINDOW_SECONDS=[60, 3600]' EARSHOT_MARKET__WATERMARK_DELAY_SECONDS=5 \
  EARSHOT_HTTP__ADDRESS=127.0.0.1:$port EARSHOT_LOG=warn \
  $bin/earshot run --role market --config config/earshot.toml &
pid=$!
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do
  kill -0 $pid 2>/dev/null || { echo "the stage exited" >&2; exit 1; }
  sleep 0.2
done
$bin/examples/market_load latency "$brokers" "$state/insights.jsonl" "$name-insights" "$name-trends" "$rate" "$seconds" 60 5
curl -sf "http://127.0.0.1:$port/metrics" | grep -E '^earshot_market_(readings|events)_total'
