#!/usr/bin/env bash
# The chaos run (examples/chaos.rs says what it does and checks): earshot instances in one group are
# SIGKILLed and restarted every 2-4 s while a producer feeds a 6-partition topic, the broker is
# restarted once on its own data, then the group drains and every input must have exactly one
# insight or dead letter (under exactly once, no duplicate at all). Two customer memory stages
# (`earshot run --role memory`) read the insights and are killed with the rest; after the drain a
# clean run of the stage over the same insights must leave the same state for every customer and
# the same customer insights. Two market stages (`earshot run --role market`) likewise: after the
# drain a clean market stage's windows must equal theirs (--short: under exactly once only). Summary
# lines per guarantee.
#
#   bash scripts/chaos.sh            # 60,000 messages over 120 s, 3 instances, both guarantees
#   bash scripts/chaos.sh --short    # 6,000 over 30 s, debug build: the variant scripts/test.sh runs
#   GUARANTEES=exactly_once STATIC=false bash scripts/chaos.sh   # one guarantee; no static membership
#   MEMORY=0 MARKET=0 bash scripts/chaos.sh   # without the memory or the market stages
#   CHAOS_EARSHOT_LOG=debug bash scripts/chaos.sh --short   # the instances' log filter (EARSHOT_LOG)
#
# It runs a broker of its own (ports 29092/29093 unless CHAOS_KAFKA_PORT says otherwise), so the test
# broker is never restarted under the other tests. Instance logs: target/chaos-logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
short=false
[ "${1:-}" = --short ] && short=true
if $short; then
  messages=6000 seconds=30 profile=debug build=()
else
  messages=60000 seconds=120 profile=release build=(--release)
fi
export KAFKA_PORT=${CHAOS_KAFKA_PORT:-29092}
export KAFKA_CONTROLLER_PORT=$((KAFKA_PORT + 1))
export KAFKA_STATE_DIR=${TMPDIR:-/tmp}/earshot-kafka-chaos-$KAFKA_PORT
cargo build -q "${build[@]}" --bin earshot --example chaos
trap 'scripts/kafka.sh stop' EXIT
scripts/kafka.sh start
rm -rf target/chaos-logs target/chaos-state
status=0
for g in ${GUARANTEES:-at_least_once exactly_once}; do
  # The market stages, in a debug build, redo every window that the sample's repeated times touch
  # again (tens of thousands of corrections): the short run has them under exactly once only.
  market=${MARKET:-2}
  if $short && [ -z "${MARKET:-}" ] && [ "$g" != exactly_once ]; then market=0; fi
  CHAOS_LOGS=target/chaos-logs/$g target/$profile/examples/chaos "127.0.0.1:$KAFKA_PORT" \
    "target/$profile/earshot" --messages "$messages" --seconds "$seconds" --partitions 6 \
    --instances 3 --memory "${MEMORY:-2}" --market "$market" --guarantee "$g" --static "${STATIC:-true}" \
    --restart-broker "scripts/kafka.sh restart" || status=1
done
exit $status
