#!/usr/bin/env bash
# A write that keeps retrying after its partition moved to another group member must be
# abandoned, not sent late over the new owner's newer row of the same key. Member A writes
# through a frozen proxy (its writes time out and retry); member B joins, gets one partition once
# A's revoke drain bound passes (10 s), and writes the old record and then a newer one of that
# key. When the proxy thaws, A's stale retry must not overwrite B's newer row. The proxy drops
# what A sends while frozen: a request held and delivered late would land whatever the client
# does (only write timestamps taken from Kafka guard against that).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
bin="${RTETL_BIN:?RTETL_BIN must point at the rtetl binary}"
apid="" bpid=""
it_scratch apid bpid
stack_ensure_up || exit 1

topic="$(unique_name rebretry)"
ks="$(unique_name ks_rebretry)"
group="$(unique_name g_rebretry)"
kafka_topic_create "$topic" 2
proxy_start --drop || exit 1
rec() { printf '{"id":"%s","first_name":"%s","email":"x@example.com"}\n' "$1" "$2"; }
name_of() { cql "SELECT first_name FROM $ks.tb_usuarios WHERE id='$1'" 2>/dev/null; }

common=(--topic "$topic" --group "$group" --keyspace "$ks" --brokers "$KAFKA_BOOTSTRAP"
  --status-interval 500ms -X session.timeout.ms=6000)
"$bin" stream "${common[@]}" --cassandra "127.0.0.1:$PROXY_PORT" --request-timeout 1s \
  2>"$tmp/a.log" &
apid=$!
wait_for 120 "member A to consume" grep -q 'assigned" partitions=0,1 ' "$tmp/a.log"
assert_eq 0 $? "member A owns both partitions"
stop_if_failed
proxy_freeze
rec k0 old | kcat_produce "$topic" -p 0
rec k1 old | kcat_produce "$topic" -p 1
retrying() { [ "$(stream_stat "$tmp/a.log" backoff status)" = 2 ] 2>/dev/null; }
wait_for 60 "A's two writes to wait in backoff" retrying
assert_eq 0 $? "member A retries both writes"

"$bin" stream "${common[@]}" --cassandra "$CQL_HOST:$CQL_PORT" 2>"$tmp/b.log" &
bpid=$!
wait_for 120 "member B to get a partition" grep -q 'assigned" partitions=[01] ' "$tmp/b.log"
assert_eq 0 $? "member B gets one partition after A's revoke bound"
stop_if_failed
p=$(grep -o 'assigned" partitions=[01] ' "$tmp/b.log" | head -1 | grep -o '=[01]' | tr -d '=')
is_old() { [ "$(name_of "k$p")" = old ]; }
wait_for 60 "B to write the old record of k$p" is_old
assert_eq 0 $? "member B wrote the old record of k$p again"
rec "k$p" new | kcat_produce "$topic" -p "$p"
is_new() { [ "$(name_of "k$p")" = new ]; }
wait_for 60 "B to write the new record of k$p" is_new
assert_eq 0 $? "member B wrote the newer record of k$p"

proxy_thaw
drained() { [ "$(stream_stat "$tmp/a.log" inflight status)" = 0 ] 2>/dev/null; }
wait_for 90 "A to finish or abandon its writes" drained
assert_eq 0 $? "member A has nothing in flight after the thaw"
is_old_other() { [ "$(name_of "k$((1 - p))")" = old ]; }
wait_for 30 "A to write the record of the partition it kept" is_old_other
assert_eq 0 $? "member A wrote the record of the partition it kept"
assert_eq new "$(name_of "k$p")" "A's stale retry did not overwrite k$p"

kill -TERM "$apid" "$bpid"
for pid in $apid $bpid; do
  wait_for 60 "rtetl $pid to exit" bash -c "! kill -0 $pid 2>/dev/null" || kill -9 "$pid"
done
cql "DROP KEYSPACE IF EXISTS $ks" >/dev/null 2>&1 || true
kafka_topic_delete "$topic" || true
test_finish
