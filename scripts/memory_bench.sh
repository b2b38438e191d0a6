#!/usr/bin/env bash
# The customer memory, measured: insights per second on one core (the pure core and the stage's
# per-record work, examples/memory_speed.rs), state size per customer, the time to restore COUNT
# customers from the changelog into an empty state folder (a new machine), and the latency of a
# customer insight through a running stage on a real broker (examples/memory_load.rs).
#
#   bash scripts/memory_bench.sh [COUNT] [PAIRS] [RATE]   # defaults: 1000000 2000 200
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000000}
pairs=${2:-2000}
rate=${3:-200}
if [ -z "${KAFKA_STATE_DIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  export KAFKA_STATE_DIR=/dev/shm/earshot-kafka-memory
fi
export KAFKA_PORT=${KAFKA_PORT:-49092} KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-49093}
brokers=127.0.0.1:$KAFKA_PORT
cargo build --release -q --bin earshot --example memory_speed --example memory_load --example kafkaload
bin=target/release
state=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null && wait $pid; scripts/kafka.sh stop; rm -rf "$state"; case "${KAFKA_STATE_DIR:-}" in /dev/shm/*) rm -rf "$KAFKA_STATE_DIR" ;; esac' EXIT

echo "== one core, no Kafka"
taskset -c 1 $bin/examples/memory_speed 100000

echo "== restore $count customers from the changelog"
scripts/kafka.sh start
name=mb-$RANDOM
$bin/examples/kafkaload create "$brokers" 4 "$name-insights" "$name-dlq"
$bin/examples/memory_load fill "$brokers" "$name-changelog" 4 "$count"
port=$((KAFKA_PORT + 10))
started=$(date +%s.%N)
env EARSHOT_KAFKA__BROKERS=$brokers EARSHOT_KAFKA__GROUP_ID=$name \
  "EARSHOT_PRIVACY_KEY=earshot memory bench secret, not for production" \
  EARSHOT_KAFKA__DEAD_LETTER_TOPIC=$name-dlq EARSHOT_MEMORY__INPUT_TOPIC=$name-insights \
  EARSHOT_MEMORY__LINKS_TOPIC=$name-links EARSHOT_MEMORY__REPARTITION_TOPIC=$name-repartition \
  EARSHOT_MEMORY__CHANGELOG_TOPIC=$name-changelog EARSHOT_MEMORY__OUTPUT_TOPIC=$name-customer \
  EARSHOT_MEMORY__STATE_DIR=$state EARSHOT_HTTP__ADDRESS=127.0.0.1:$port EARSHOT_LOG=warn \
  $bin/earshot run --role memory --config config/earshot.toml &
pid=$!
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do
  kill -0 $pid 2>/dev/null || { echo "the stage exited" >&2; exit 1; }
  sleep 0.2
done
ready=$(date +%s.%N)
metrics=$(curl -sf "http://127.0.0.1:$port/metrics")
restored=$(echo "$metrics" | awk '/^earshot_memory_restored_records_total /{print $2}')
seconds=$(echo "$metrics" | awk '/^earshot_memory_restore_duration_seconds_sum /{print $2}')
printf 'restored %s records in %.1f s of restore (%.1f s from start to ready); store: %s\n' \
  "$restored" "$seconds" "$(echo "$ready - $started" | bc)" "$(du -sh "$state" | cut -f1)"

echo "== customer insight latency ($pairs customers, $rate a second)"
$bin/examples/memory_load latency "$brokers" "$name-insights" "$name-customer" "$pairs" "$rate"
