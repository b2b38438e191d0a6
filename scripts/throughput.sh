#!/usr/bin/env bash
# Throughput and latency through a real Kafka broker: earshot, under each delivery guarantee, against
# a pass-through baseline (the same Kafka loop forwarding bytes without analysis,
# examples/passthrough.rs), in the same run, on the same broker. Prints msgs/s of each, the ratios,
# each pipeline's CPU per message, and earshot's end-to-end p50/p99 at a fixed moderate rate under
# both guarantees. Under exactly once the outputs are counted as a read_committed reader sees them.
#
#   bash scripts/throughput.sh [COUNT] [RATE] [SECONDS] [ROUNDS]   # defaults: 200000 2000 20 5
#
# The two pipelines run alternately ROUNDS times each, after WARMUP_ROUNDS (default 3) rounds of
# each that are printed but not counted: a freshly started broker's JVM is still compiling its hot
# paths, and with it on the same two cores the CPU-bound pipeline runs slower. Measured: with one
# warm-up round, nine counted rounds of earshot gave 30.6k, 31.9k, then 38.4k-39.6k for six rounds
# (the pass-through, not CPU-bound, stayed at 44-45k throughout). The figures are the medians of
# the counted rounds, and every run is printed. The broker keeps its log in
# /dev/shm when there is one (KAFKA_STATE_DIR overrides): disk writeback on a small VM made runs
# swing, and it is the broker's disk, not either pipeline, that it measured.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-200000}
rate=${2:-2000}
seconds=${3:-20}
rounds=${4:-5}
warmup=${WARMUP_ROUNDS:-3}
if [ -z "${KAFKA_STATE_DIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  export KAFKA_STATE_DIR=/dev/shm/earshot-kafka-throughput
fi
export KAFKA_PORT=${KAFKA_PORT:-39092} KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-39093}
brokers=127.0.0.1:$KAFKA_PORT

cargo build --release -q --bin earshot --example passthrough --example kafkaload
bin=target/release
# The broker's log is gigabytes of RAM when it is in /dev/shm: removed at the end.
trap 'scripts/kafka.sh stop; case "${KAFKA_STATE_DIR:-}" in /dev/shm/*) rm -rf "$KAFKA_STATE_DIR" ;; esac' EXIT
scripts/kafka.sh start

# Starts a pipeline in the background and sets $pid. (Not in $(...): the command substitution would
# wait for the background process, which holds its stdout.)
run_pipeline() { # mode name extra-env...
  local mode=$1 name=$2; shift 2
  if [ "${1:-}" = existing ]; then shift; else
    $bin/examples/kafkaload create "$brokers" 4 "$name-in" "$name-out" "$name-dlq"
  fi
  local env=(EARSHOT_KAFKA__BROKERS=$brokers EARSHOT_KAFKA__GROUP_ID=$name
    "EARSHOT_PRIVACY_KEY=earshot throughput secret, not for production"
    "EARSHOT_KAFKA__INPUTS=[{topic=\"$name-in\", kind=\"auto\"}]"
    EARSHOT_KAFKA__OUTPUT_TOPIC=$name-out EARSHOT_KAFKA__DEAD_LETTER_TOPIC=$name-dlq
    EARSHOT_HTTP__ADDRESS=127.0.0.1:0 EARSHOT_LOG=warn "$@")
  if [ "$mode" = earshot ]; then
    env "${env[@]}" $bin/earshot run --config config/earshot.toml >/dev/null &
  else
    env "${env[@]}" $bin/examples/passthrough --config config/earshot.toml >/dev/null &
  fi
  pid=$!
}

measure() { # mode [extra-env...] -> sets $rate_out (msgs/s) and $cpu_out (µs of pipeline CPU per message)
  local mode=$1 name="tp-$1-$RANDOM"; shift
  $bin/examples/kafkaload create "$brokers" 4 "$name-in" "$name-out" "$name-dlq"
  $bin/examples/kafkaload produce "$brokers" "$name-in" "$count" >&2
  run_pipeline "$mode" "$name" existing "$@"
  rate_out=$($bin/examples/kafkaload drain "$brokers" "$name-out" "$count")
  # User + system CPU of the pipeline process so far (fields 14 and 15 of /proc/PID/stat, in clock
  # ticks): steadier than msgs/s on a machine whose speed swings.
  local ticks hz
  ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  hz=$(getconf CLK_TCK)
  cpu_out=$(python3 -c "print(f'{$ticks / $hz / $count * 1e6:.1f}')")
  kill -TERM "$pid"; wait "$pid" || true
}

echo "preloading $count sample messages per run; broker on $brokers; $rounds rounds" >&2
eos=EARSHOT_PIPELINE__GUARANTEE=exactly_once
bases=() ours_all=() base_cpu=() ours_cpu=() eos_all=() eos_cpu=()
for w in $(seq 1 "$warmup"); do
  measure passthrough; warm_base=$rate_out
  measure earshot; warm_ours=$rate_out
  measure earshot "$eos"
  echo "warm-up $w of $warmup (not counted): pass-through $warm_base msgs/s, earshot $warm_ours msgs/s, exactly once $rate_out msgs/s" >&2
done
for r in $(seq 1 "$rounds"); do
  measure passthrough; bases+=("$rate_out"); base_cpu+=("$cpu_out")
  measure earshot; ours_all+=("$rate_out"); ours_cpu+=("$cpu_out")
  measure earshot "$eos"; eos_all+=("$rate_out"); eos_cpu+=("$cpu_out")
  echo "round $r: pass-through ${bases[-1]} msgs/s (${base_cpu[-1]} µs CPU/msg), earshot ${ours_all[-1]} msgs/s (${ours_cpu[-1]} µs CPU/msg), exactly once ${eos_all[-1]} msgs/s (${eos_cpu[-1]} µs CPU/msg)" >&2
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(median "${bases[@]}")
ours=$(median "${ours_all[@]}")
exact=$(median "${eos_all[@]}")
latency() { # extra-env... -> sets $p50 $p99 $n
  local name="lat-$RANDOM"
  run_pipeline earshot "$name" "$@"
  sleep 3
  read -r p50 p99 n < <($bin/examples/kafkaload latency "$brokers" "$name-in" "$name-out" "$rate" "$seconds")
  kill -TERM "$pid"; wait "$pid" || true
}
latency; lat_alo="p50 $p50 ms, p99 $p99 ms ($n messages)"
latency "$eos"; lat_eos="p50 $p50 ms, p99 $p99 ms ($n messages)"

printf '\n%-34s %12s   (median of %s; runs: %s | %s | %s)\n' "run" "msgs/s" "$rounds" "${bases[*]}" "${ours_all[*]}" "${eos_all[*]}"
printf '%-34s %12s\n' "pass-through baseline" "$base"
printf '%-34s %12s\n' "earshot, at least once" "$ours"
printf '%-34s %12s\n' "earshot, exactly once" "$exact"
printf 'ratio earshot / pass-through: at least once %s, exactly once %s\n' \
  "$(python3 -c "print(f'{$ours/$base:.2f}')")" "$(python3 -c "print(f'{$exact/$base:.2f}')")"
printf 'pipeline CPU per message (median): pass-through %s µs, at least once %s µs, exactly once %s µs   (runs: %s | %s | %s)\n' \
  "$(median "${base_cpu[@]}")" "$(median "${ours_cpu[@]}")" "$(median "${eos_cpu[@]}")" "${base_cpu[*]}" "${ours_cpu[*]}" "${eos_cpu[*]}"
printf 'end-to-end latency at %s msgs/s for %ss: at least once %s; exactly once %s\n' "$rate" "$seconds" "$lat_alo" "$lat_eos"
