#!/usr/bin/env bash
# rtetl stream stopped while its last record in flight is a dead letter waiting for Kafka's
# acknowledgement (-X linger.ms=3000 holds the dead-letter producer's batch for 3 s). The
# acknowledgement arrives during the drain and ends it. Finishing ran from inside the producer's
# delivery callback: it flushed the producer from its own callback (where the message being
# acknowledged still counts as unacknowledged, so the flush waited its full 10 s and warned) and
# destroyed the producer under the callback (a use-after-free inside librdkafka, which is not
# instrumented, so ASan stays silent). It must finish from the loop: exit within a few seconds,
# no unacknowledged dead letter, and the record committed (a restart finds nothing).
# Second scenario, --drain-timeout 1s: the drain times out before the acknowledgement. The
# dead-letter producer must be flushed before the offsets are committed (it was flushed after
# the consumer closed, so the acknowledged record was dead-lettered again after a restart).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
bin="${RTETL_BIN:?RTETL_BIN must point at the rtetl binary}"
spid=""
it_scratch spid
stack_ensure_up || exit 1

ks="$(unique_name ks_dlqstop)"

# scenario NAME ARGS...: one bad record on a fresh topic; SIGTERM once it waits as a dead letter.
scenario() {
  local name="$1" topic group
  shift
  topic="$(unique_name "dlqstop_$name")"
  group="$(unique_name "g_$name")"
  kafka_topic_create "$topic" 1
  echo 'this is not json' | kcat_produce "$topic"
  "$bin" stream --topic "$topic" --group "$group" --keyspace "$ks" \
    --brokers "$KAFKA_BOOTSTRAP" --cassandra "$CQL_HOST:$CQL_PORT" -X linger.ms=3000 \
    --status-interval 200ms "$@" 2>"$tmp/$name.log" &
  spid=$!
  waiting() { [ "$(stream_stat "$tmp/$name.log" dlq status)" = 1 ]; }
  wait_for 120 "the record to wait as a dead letter" waiting
  assert_eq 0 $? "$name: the record waits as a dead letter"
  kill -TERM "$spid"
  reap_within 10 "$spid"
  assert_eq 0 $? "$name: exits within 10 s of SIGTERM"
  spid=""
  assert_eq 0 "$REAP_RC" "$name: exit status 0"
  if grep -q 'Sanitizer' "$tmp/$name.log"; then
    fail "$name: no sanitizer report"
    grep -A12 'ERROR: .*Sanitizer' "$tmp/$name.log" | head -30
  else
    pass "$name: no sanitizer report"
  fi
  assert_eq 1 "$(stream_stat "$tmp/$name.log" dead_lettered)" "$name: dead_lettered=1"
  assert_eq 0 "$(grep -c 'still unacknowledged' "$tmp/$name.log")" \
    "$name: no dead letter left unacknowledged"

  # A restart finds nothing left: the dead letter's offset was committed.
  timeout 120 "$bin" stream --topic "$topic" --group "$group" --keyspace "$ks" \
    --brokers "$KAFKA_BOOTSTRAP" --cassandra "$CQL_HOST:$CQL_PORT" --idle-exit 3s \
    --status-interval 0 2>"$tmp/$name.again.log"
  assert_eq 0 $? "$name: restart exits 0"
  assert_eq 0 "$(stream_stat "$tmp/$name.again.log" consumed)" "$name: restart consumes nothing"
  assert_eq 1 "$(kcat_consume "$topic.dlq" 100 10 -e | wc -l)" "$name: one dead letter in all"
  kafka_topic_delete "$topic" || true
  kafka_topic_delete "$topic.dlq" || true
}

scenario ack_ends_drain
scenario drain_timeout --drain-timeout 1s

cql "DROP KEYSPACE IF EXISTS $ks" >/dev/null 2>&1 || true
test_finish
