#!/usr/bin/env bash
# rtetl stream stopped while Cassandra does not answer: SIGTERM with --drain-timeout 5s must end
# the process within the drain bound plus a few seconds (it once hung for ever: closing the
# consumer revoked the partitions, the engine deferred the revoke for its records in flight, and
# nothing completed it). Nothing may be lost: a second run reads the unfinished records again.
# Cassandra is "frozen" through a proxy of our own (freeze_proxy.py), never the shared node.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
bin="${RTETL_BIN:?RTETL_BIN must point at the rtetl binary}"
spid=""
it_scratch spid
stack_ensure_up || exit 1

N=2000
topic="$(unique_name drainout)"
ks="$(unique_name ks_drainout)"
group="$(unique_name g_drainout)"
kafka_topic_create "$topic" 3
proxy_start || exit 1

"$bin" stream --topic "$topic" --group "$group" --keyspace "$ks" --brokers "$KAFKA_BOOTSTRAP" \
  --cassandra "127.0.0.1:$PROXY_PORT" --drain-timeout 5s --request-timeout 2s \
  --status-interval 500ms 2>"$tmp/s1.log" &
spid=$!
wait_for 120 "the stream to consume" grep -q 'msg=consuming' "$tmp/s1.log"
assert_eq 0 $? "stream started through the proxy"
stop_if_failed
proxy_freeze
"$bin" ingest --source builtin --count "$N" --seed 2 --topic "$topic" \
  --brokers "$KAFKA_BOOTSTRAP" --progress-interval 0 >/dev/null 2>"$tmp/ingest.log"
inflight() { [ "$(stream_stat "$tmp/s1.log" inflight status)" -gt 0 ] 2>/dev/null; }
wait_for 60 "records in flight" inflight
assert_eq 0 $? "records in flight while Cassandra does not answer"

kill -TERM "$spid"
t0=$(date +%s)
reap_within 20 "$spid"
assert_eq 0 $? "exits within drain-timeout (5 s) + a few seconds"
spid=""
echo "exited after $(($(date +%s) - t0)) s with status $REAP_RC"
assert_eq 0 "$REAP_RC" "exit status 0 after a signal"
assert_contains "$(cat "$tmp/s1.log")" "drain timed out" "the drain timeout is reported"
proxy_thaw

# Nothing lost: a second run, straight to Cassandra, finishes what the first abandoned.
timeout 300 "$bin" stream --topic "$topic" --group "$group" --keyspace "$ks" \
  --brokers "$KAFKA_BOOTSTRAP" --cassandra "$CQL_HOST:$CQL_PORT" --idle-exit 4s \
  --status-interval 1s 2>"$tmp/s2.log"
assert_eq 0 $? "second run exits 0"
rows=$(cql "SELECT count(*) FROM $ks.tb_usuarios" 2>/dev/null)
assert_eq "$N" "$rows" "every record is in the table"
cql "DROP KEYSPACE IF EXISTS $ks" >/dev/null 2>&1 || true
kafka_topic_delete "$topic" || true
test_finish
