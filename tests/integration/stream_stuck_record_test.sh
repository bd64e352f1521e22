#!/usr/bin/env bash
# One record that does not finish must not hold the stream (or its memory) for ever:
#  key:  a bad record whose 5 MiB key is too large for the dead-letter topic (only the value
#        was cut) retried its dead letter for ever; the key is now cut too (header
#        rtetl.key.truncated) and the record is dead-lettered.
#  span: while the first record of a partition waits (its dead letter's acknowledgement takes
#        15 s, -X linger.ms=15000), the partition's tracked span grew with every later record;
#        it now stops taking records past a bound (64 x --max-inflight, at least 1024) and
#        resumes when the record is done.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
bin="${RTETL_BIN:?RTETL_BIN must point at the rtetl binary}"
it_scratch
stack_ensure_up || exit 1
ks="$(unique_name ks_stuck)"

# --- key ---
topic="$(unique_name stuck_key)"
"$STACK" topics --create --topic "$topic" --partitions 1 --replication-factor 1 \
  --config max.message.bytes=10000000 >/dev/null
"$PY" -c '
import sys
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1], "message.max.bytes": 10000000})
p.produce(sys.argv[2], key=b"k" * (5 << 20), value=b"not json")
assert p.flush(60) == 0' "$KAFKA_BOOTSTRAP" "$topic"
assert_eq 0 $? "produced a bad record with a 5 MiB key"
timeout 90 "$bin" stream --topic "$topic" --group "$(unique_name g_stuck_key)" --keyspace "$ks" \
  --brokers "$KAFKA_BOOTSTRAP" --cassandra "$CQL_HOST:$CQL_PORT" --idle-exit 3s \
  --status-interval 1s 2>"$tmp/key.log"
assert_eq 0 $? "key: exits 0 after idling (the record finished)"
assert_eq 1 "$(stream_stat "$tmp/key.log" dead_lettered)" "key: the record is dead-lettered"
hdrs=$(timeout 30 kcat -C -q -b "$KAFKA_BOOTSTRAP" -t "$topic.dlq" -o beginning -c 1 -e \
  -X fetch.message.max.bytes=10000000 -f '%h %K\n' | head -c 300)
assert_contains "$hdrs" "rtetl.key.truncated=5242880" "key: the dead letter says the key was cut"
kafka_topic_delete "$topic" || true
kafka_topic_delete "$topic.dlq" || true

# --- span ---
N=20000
topic="$(unique_name stuck_span)"
kafka_topic_create "$topic" 1
echo 'offset 0: not json' | kcat_produce "$topic"
"$bin" ingest --source builtin --count "$N" --seed 6 --topic "$topic" \
  --brokers "$KAFKA_BOOTSTRAP" --progress-interval 0 >/dev/null 2>"$tmp/ingest.log"
assert_eq 0 $? "span: ingest $N records after the bad one"
timeout 180 "$bin" stream --topic "$topic" --group "$(unique_name g_stuck_span)" --keyspace "$ks" \
  --brokers "$KAFKA_BOOTSTRAP" --cassandra "$CQL_HOST:$CQL_PORT" --max-inflight 16 \
  -X linger.ms=15000 --idle-exit 3s --status-interval 200ms 2>"$tmp/span.log"
assert_eq 0 $? "span: exits 0 after idling"
# The most records taken in while the first one was still waiting for its dead letter.
most=$(grep 'msg=status' "$tmp/span.log" | grep ' dead_lettered=0 ' | grep -o ' consumed=[0-9]*' |
  cut -d= -f2 | sort -n | tail -1)
echo "most records consumed while the first was in flight: $most"
assert_eq true "$([ "${most:-0}" -gt 1024 ] && [ "$most" -lt 10000 ] && echo true || echo "false ($most)")" \
  "span: the partition stopped taking records past its bound while the first was stuck"
assert_ne 0 "$(grep -c "partition held" "$tmp/span.log")" "span: the hold is logged"
assert_eq "$((N + 1))" "$(stream_stat "$tmp/span.log" consumed)" "span: every record consumed in the end"
assert_eq "$((N + 1))" "$(($(stream_stat "$tmp/span.log" written) + $(stream_stat "$tmp/span.log" dead_lettered)))" \
  "span: written + dead-lettered = consumed"
kafka_topic_delete "$topic" || true
kafka_topic_delete "$topic.dlq" || true
cql "DROP KEYSPACE IF EXISTS $ks" >/dev/null 2>&1 || true
test_finish
