#!/usr/bin/env bash
# A poison record that Cassandra answers with a Server error (code 0x0000) every time must not be
# retried for ever (CQL_ERR_SERVER is retriable, so it used to hold its partition and the offset
# tracker's memory for good): after STREAM_SERVER_ERRORS_MAX (10) such answers it is dead-lettered
# with reason write_server_error, and the records around it are written. The errors come from a
# proxy of our own that answers every EXECUTE carrying a marker with a Server error
# (freeze_proxy.py --server-error), never from the shared node.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
bin="${RTETL_BIN:?RTETL_BIN must point at the rtetl binary}"
it_scratch
stack_ensure_up || exit 1

topic="$(unique_name srverr)"
ks="$(unique_name ks_srverr)"
marker="poison-$RANDOM$RANDOM"
kafka_topic_create "$topic" 1
printf '%s\n' '{"id":"ok-1","email":"a@b"}' "{\"id\":\"$marker\",\"email\":\"p@b\"}" \
  '{"id":"ok-2","email":"c@d"}' | kcat_produce "$topic"
assert_eq 0 $? "produced two good records around a poison one"
cat >"$tmp/p.yaml" <<YAML
source:
  topic: $topic
target:
  keyspace: $ks
retry:
  base: 10ms
  max: 50ms
YAML
proxy_start --server-error "$marker" || exit 1
timeout 120 "$bin" stream --config "$tmp/p.yaml" --group "$(unique_name g_srverr)" \
  --brokers "$KAFKA_BOOTSTRAP" --cassandra "127.0.0.1:$PROXY_PORT" --idle-exit 3s \
  --status-interval 1s 2>"$tmp/stream.log"
rc=$?
assert_eq 0 "$rc" "the stream finishes (exit 0) instead of retrying the poison record for ever"
assert_eq 2 "$(stream_stat "$tmp/stream.log" written)" "the two good records are written"
assert_eq 1 "$(stream_stat "$tmp/stream.log" dead_lettered)" "the poison record is dead-lettered"
retries=$(stream_stat "$tmp/stream.log" retries)
assert_eq 9 "${retries:-?}" "it was retried 9 times (10 server errors) before that"
dl=$(timeout 30 kcat -C -q -b "$KAFKA_BOOTSTRAP" -t "$topic.dlq" -o beginning -c 1 -e \
  -f '%h\n%s\n')
assert_contains "$dl" "rtetl.error=write_server_error" "the dead letter says why"
assert_contains "$dl" "$marker" "the dead letter is the poison record"
[ "$rc" = 0 ] || tail -20 "$tmp/stream.log"
kafka_topic_delete "$topic" || true
kafka_topic_delete "$topic.dlq" || true
cql "DROP KEYSPACE IF EXISTS $ks" >/dev/null || true
test_finish
