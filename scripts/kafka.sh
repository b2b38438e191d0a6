#!/usr/bin/env bash
# Starts or stops a real single-node Apache Kafka (KRaft) for the tests, from Maven Central jars.
#
#   scripts/kafka.sh start    # a fresh broker (its data wiped); prints nothing on success
#   scripts/kafka.sh restart  # stop and start again on the same data, as after a crash
#   scripts/kafka.sh stop
#
# The broker listens on 127.0.0.1:$KAFKA_PORT (default 19092) and keeps its data and logs in
# $KAFKA_STATE_DIR (default /tmp/earshot-kafka-$KAFKA_PORT).
#
# Jars are cached in ~/.cache/earshot/kafka-<version>, so only the first run downloads.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kafka/pom.xml")
cache=${EARSHOT_KAFKA_CACHE:-$HOME/.cache/earshot/kafka-$version}
port=${KAFKA_PORT:-19092}
cport=${KAFKA_CONTROLLER_PORT:-19093}
state=${KAFKA_STATE_DIR:-${TMPDIR:-/tmp}/earshot-kafka-$port}

fetch() {
  if [ -f "$cache/.complete" ]; then return; fi
  mkdir -p "$cache/libs"
  mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$cache/libs" >&2
  touch "$cache/.complete"
}

start() {
  fetch
  stop >/dev/null 2>&1 || true
  rm -rf "$state"; mkdir -p "$state/data" "$state/logs"
  cat > "$state/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$state/data
num.partitions=4
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# A killed instance's open transaction is aborted within a second of its timeout, not ten.
transaction.abort.timed.out.transaction.cleanup.interval.ms=1000
# The log cleaner looks for compactable logs every second, not every 15: the customer memory's
# erasure test waits for a compacted changelog.
log.cleaner.backoff.ms=1000
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
PROPS
  local java=(java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true
    -Dkafka.logs.dir="$state/logs" -Dlog4j2.configurationFile="$here/kafka/log4j2.properties"
    -cp "$cache/libs/*")
  "${java[@]}" kafka.tools.StorageTool format -t "$("${java[@]}" kafka.tools.StorageTool random-uuid)" \
    -c "$state/server.properties" > "$state/logs/format.log" 2>&1
  launch
}

# Runs the broker on the state directory as it is, and waits until it serves.
launch() {
  local java=(java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true
    -Dkafka.logs.dir="$state/logs" -Dlog4j2.configurationFile="$here/kafka/log4j2.properties"
    -cp "$cache/libs/*")
  # A restart waits for its own "started" line, not the previous run's.
  [ -f "$state/logs/server.log" ] && mv "$state/logs/server.log" "$state/logs/server.log.prev"
  nohup "${java[@]}" kafka.Kafka "$state/server.properties" > "$state/logs/stdout.log" 2>&1 &
  echo $! > "$state/pid"
  for _ in $(seq 1 120); do
    if grep -q "Kafka Server started" "$state/logs/server.log" 2>/dev/null \
       && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then
      echo "kafka exited during start-up; last log lines:" >&2
      tail -n 40 "$state/logs/stdout.log" "$state/logs/server.log" >&2 || true
      return 1
    fi
    sleep 0.5
  done
  echo "kafka did not become ready within 60 s (logs in $state/logs)" >&2
  return 1
}

stop() {
  if [ -f "$state/pid" ]; then
    local pid; pid=$(cat "$state/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$state/pid"
  fi
}

case "${1:-}" in
  start) start ;;
  restart)
    if [ ! -f "$state/server.properties" ]; then echo "no broker state in $state: start first" >&2; exit 1; fi
    fetch; stop; launch ;;
  stop) stop ;;
  fetch) fetch ;;
  *) echo "usage: $0 start|restart|stop|fetch" >&2; exit 2 ;;
esac
