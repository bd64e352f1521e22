#!/usr/bin/env bash
# A message that cannot be tracked (out of memory; injected with the test-only
# RTETL_TEST_FAIL_TRACK_AT=OFFSET) must not be skipped by the committed offset. It was processed
# untracked, so the watermark moved past it while it was still in flight: here it is a dead
# letter whose acknowledgement takes 10 s (-X linger.ms=10000), and the later good records are
# written at once; the group's committed offset must stay at or before it until it is done.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
bin="${RTETL_BIN:?RTETL_BIN must point at the rtetl binary}"
spid=""
it_scratch spid
stack_ensure_up || exit 1

topic="$(unique_name untracked)"
ks="$(unique_name ks_untracked)"
group="$(unique_name g_untracked)"
kafka_topic_create "$topic" 1
{
  for i in $(seq 0 19); do printf '{"id":"a%d","email":"x@example.com"}\n' "$i"; done
  echo 'offset 20: not json'
  for i in $(seq 21 40); do printf '{"id":"a%d","email":"x@example.com"}\n' "$i"; done
} | kcat_produce "$topic"

committed() {
  "$PY" -c '
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2]})
print(c.committed([TopicPartition(sys.argv[3], 0)], timeout=10)[0].offset)
c.close()' "$KAFKA_BOOTSTRAP" "$group" "$topic"
}

RTETL_TEST_FAIL_TRACK_AT=20 "$bin" stream --topic "$topic" --group "$group" --keyspace "$ks" \
  --brokers "$KAFKA_BOOTSTRAP" --cassandra "$CQL_HOST:$CQL_PORT" -X linger.ms=10000 \
  --status-interval 200ms 2>"$tmp/s.log" &
spid=$!
written_all() { [ "$(stream_stat "$tmp/s.log" written status)" = 40 ] 2>/dev/null; }
wait_for 120 "the 40 good records to be written" written_all
assert_eq 0 $? "the 40 good records are written"
# Until the dead letter is acknowledged, watch the committed offset (a reading counts only when
# the dead letter was still pending once it returned).
pending() { [ "$(stream_stat "$tmp/s.log" dead_lettered status)" = 0 ]; }
max=-1 n=0
while pending && kill -0 "$spid" 2>/dev/null; do
  c=$(committed)
  pending || break
  n=$((n + 1))
  [ "$c" -gt "$max" ] 2>/dev/null && max=$c
done
assert_ne 0 "$n" "the committed offset was read while the dead letter was pending"
echo "highest committed offset while the dead letter was pending: $max"
assert_eq true "$([ "$max" -le 20 ] && echo true || echo "false ($max)")" \
  "the committed offset never passed the record at offset 20 while it was in flight"
assert_ne 0 "$(grep -c "reading its partition again" "$tmp/s.log")" "the stall is logged"
reached_end() { [ "$(committed)" = 41 ]; }
wait_for 60 "the committed offset to reach the end" reached_end
assert_eq 0 $? "everything is committed once the dead letter is acknowledged"
kill -TERM "$spid"
wait_for 60 "rtetl to exit" bash -c "! kill -0 $spid 2>/dev/null"
wait "$spid"
assert_eq 0 $? "exit 0"
spid=""
assert_eq 41 "$(stream_stat "$tmp/s.log" consumed)" "every record consumed once"
assert_eq 1 "$(stream_stat "$tmp/s.log" dead_lettered)" "the bad record dead-lettered"
cql "DROP KEYSPACE IF EXISTS $ks" >/dev/null 2>&1 || true
kafka_topic_delete "$topic" || true
kafka_topic_delete "$topic.dlq" || true
test_finish
