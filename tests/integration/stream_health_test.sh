#!/usr/bin/env bash
# /healthz and /readyz of rtetl stream (issue #13) on the real stack, Cassandra behind our own
# freeze_proxy.py (never the shared node):
# 1. start-up: the source topic does not exist yet, so no partition can be assigned: /readyz
#    answers 503 "starting: ..." while /healthz (liveness) answers 200, also past
#    --unassigned-timeout (a missing topic is waited for); once the topic (one partition) is
#    created and assigned, both answer 200.
# 2. a second member of the group gets no partition: /readyz 503 starting, and /healthz 503
#    "unassigned: ..." after its --unassigned-timeout (3 s).
# 3. stall: the proxy freezes (Cassandra hangs as rtetl sees it) and records arrive: /healthz
#    turns 503 with the stall reason (partition, offset, how long) after --stall-timeout (5 s)
#    and not before, rtetl_stream_healthy is 0 and rtetl_stream_partition_stalled_seconds >= 5;
#    the proxy thaws: /healthz is 200 again and every record is in the table (official driver).
# 4. stop: records in flight on a frozen proxy, SIGTERM: /readyz turns 503 "stopping: ..." while
#    it drains, /healthz stays 200, the process exits 0.
# About 70 s.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
bin="${RTETL_BIN:?RTETL_BIN must point at the rtetl binary}"
spid=""
bpid=""
it_scratch spid bpid
stack_ensure_up || exit 1

N=1500
STALL=5
topic="$(unique_name health)"
ks="$(unique_name ks_health)"
group="$(unique_name g_health)"
proxy_start || exit 1

# probe PATH [PORT]: prints "<status> <body>" of a stream's metrics server (the first one's).
probe() {
  local code
  code=$(curl -s -m 5 -o "$tmp/body" -w '%{http_code}' "http://127.0.0.1:${2:-$mport}$1") ||
    code=000
  printf '%s %s\n' "$code" "$(cat "$tmp/body" 2>/dev/null)"
}
probe_is() { [[ "$(probe "$1" "${3:-}")" == "$2"* ]]; }
# metrics_port LOG: the port a stream logged it serves metrics on.
metrics_port() {
  wait_for 30 "the metrics address in $1" grep -q 'msg="serving metrics"' "$1"
  sed -n 's/.*msg="serving metrics" addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1" | head -1
}
# metric NAME_REGEX: the values of the matching samples on /metrics, one a line.
metric() { curl -s -m 5 "http://127.0.0.1:$mport/metrics" | awk -v re="^$1[ {]" '$0 ~ re {print $NF}'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- 1. start-up -----------------------------------------------------------------------------
"$bin" stream --topic "$topic" --group "$group" --keyspace "$ks" --brokers "$KAFKA_BOOTSTRAP" \
  --cassandra "127.0.0.1:$PROXY_PORT" --metrics-port 0 --stall-timeout "${STALL}s" \
  --unassigned-timeout 3s --request-timeout 2s --drain-timeout 10s --status-interval 1s \
  -X topic.metadata.refresh.interval.ms=1000 2>"$tmp/s.log" &
spid=$!
mport=$(metrics_port "$tmp/s.log")
assert_match '^[0-9]+$' "$mport" "the stream serves metrics"
stop_if_failed
first_ready=$(probe /readyz)
assert_match '^503 starting: ' "$first_ready" "/readyz: 503 starting at first"
wait_for 120 "/readyz: waiting for the first partition assignment" \
  probe_is /readyz "503 starting: waiting for the first partition assignment"
assert_eq 0 $? "/readyz: 503 until a partition is assigned (Cassandra ready, topic missing)"
assert_eq "200 ok" "$(probe /healthz)" "/healthz: 200 while starting (liveness)"
wait_for 60 "the missing topic noticed" grep -q 'source topic does not exist yet' "$tmp/s.log"
assert_eq 0 $? "the stream says the topic does not exist"
wait_for 5 "/readyz: the topic is missing" probe_is /readyz \
  "503 starting: waiting for the first partition assignment; the source topic does not exist yet: $topic"
assert_eq 0 $? "/readyz says the topic is missing (published within a second)"
# Held for twice --unassigned-timeout: a missing topic is waited for, not unhealthy.
unhealthy() { [[ "$(probe /healthz)" != "200 ok" ]]; }
! wait_for 6 "/healthz to leave 200 (it must not)" unhealthy
assert_eq 0 $? "/healthz: 200 past --unassigned-timeout while the topic does not exist"
stop_if_failed

kafka_topic_create "$topic" 1
wait_for 90 "/readyz: 200" probe_is /readyz "200 ok"
assert_eq 0 $? "/readyz: 200 once a partition is assigned"
wait_for 10 "/healthz: 200" probe_is /healthz "200 ok"
assert_eq 0 $? "/healthz: 200 again once assigned"
assert_eq 1 "$(metric rtetl_stream_ready)" "rtetl_stream_ready 1"
assert_eq 1 "$(metric rtetl_stream_healthy)" "rtetl_stream_healthy 1"
stop_if_failed

# ---- 2. a member without a partition ---------------------------------------------------------
"$bin" stream --topic "$topic" --group "$group" --keyspace "$ks" --brokers "$KAFKA_BOOTSTRAP" \
  --cassandra "$CQL_HOST:$CQL_PORT" --metrics-port 0 --unassigned-timeout 3s \
  --status-interval 1s 2>"$tmp/b.log" &
bpid=$!
bport=$(metrics_port "$tmp/b.log")
wait_for 60 "/healthz of the second member: unassigned" \
  probe_is /healthz "503 unassigned: no partition of topic $topic assigned for " "$bport"
assert_eq 0 $? "second member: /healthz 503 unassigned after its --unassigned-timeout"
assert_match "^503 starting: waiting for the first partition assignment$" "$(probe /readyz "$bport")" \
  "second member: /readyz 503 starting"
assert_eq "200 ok" "$(probe /readyz)" "the first member keeps its partition and stays ready"
kill -TERM "$bpid"
wait_for 30 "the second member to exit" bash -c "! kill -0 $bpid 2>/dev/null"
assert_eq 0 $? "the second member exits on SIGTERM"
bpid=""

# ---- 3. a stall, and its end -----------------------------------------------------------------
proxy_freeze
t0=$(now_ms)
"$bin" ingest --source builtin --count "$N" --seed 2 --topic "$topic" \
  --brokers "$KAFKA_BOOTSTRAP" --progress-interval 0 >/dev/null 2>"$tmp/ingest.log"
assert_eq 0 $? "ingest of $N records"
wait_for $((STALL + 25)) "/healthz: stalled" probe_is /healthz "503 stalled: topic $topic partition "
assert_eq 0 $? "/healthz: 503 stalled while Cassandra hangs"
t1=$(now_ms)
reason=$(probe /healthz)
echo "after $((t1 - t0)) ms: $reason"
assert_ok "not before --stall-timeout ($((t1 - t0)) ms)" test $((t1 - t0)) -ge $(((STALL - 1) * 1000))
assert_match "committed offset [0-9]+ has not moved for [0-9]+ s with [0-9]+ records pending" \
  "$reason" "the reason says which offset, how long, how much"
assert_eq 0 "$(metric rtetl_stream_healthy)" "rtetl_stream_healthy 0"
max_stall=$(metric rtetl_stream_partition_stalled_seconds | sort -g | tail -1)
assert_ok "rtetl_stream_partition_stalled_seconds >= $STALL (max $max_stall)" \
  awk -v v="$max_stall" -v b="$STALL" 'BEGIN { exit !(v >= b) }'
assert_eq "200 ok" "$(probe /readyz)" "/readyz: still 200 (ready, not healthy)"

proxy_thaw
wait_for 120 "/healthz: 200 after the thaw" probe_is /healthz "200 ok"
assert_eq 0 $? "/healthz: 200 again once Cassandra answers"
rows_written() { [ "$(cql "SELECT count(*) FROM $ks.tb_usuarios" 2>/dev/null)" = "$N" ]; }
wait_for 120 "every record in the table" rows_written
assert_eq "$N" "$(cql "SELECT count(*) FROM $ks.tb_usuarios" 2>/dev/null)" "every record is in the table"
assert_eq 0 "$(metric rtetl_stream_partition_stalled_seconds | sort -g | tail -1)" \
  "no partition stalled after the thaw"

# ---- 4. not ready while stopping -------------------------------------------------------------
proxy_freeze
"$bin" ingest --source builtin --count 50 --seed 3 --topic "$topic" \
  --brokers "$KAFKA_BOOTSTRAP" --progress-interval 0 >/dev/null 2>>"$tmp/ingest.log"
inflight() { [ "$(metric rtetl_stream_inflight)" -gt 0 ] 2>/dev/null; }
wait_for 60 "records in flight" inflight
assert_eq 0 $? "records in flight while Cassandra hangs"
kill -TERM "$spid"
wait_for 8 "/readyz: stopping" probe_is /readyz "503 stopping"
assert_eq 0 $? "/readyz: 503 stopping while draining"
assert_eq "200 ok" "$(probe /healthz)" "/healthz: 200 while draining (bounded by --drain-timeout)"
reap_within 90 "$spid"
assert_eq 0 $? "exits after the drain"
spid=""
assert_eq 0 "$REAP_RC" "exit status 0 after SIGTERM"
proxy_thaw

if [ "$_it_failed" != 0 ]; then tail -40 "$tmp/s.log"; fi
cql "DROP KEYSPACE IF EXISTS $ks" >/dev/null 2>&1 || true
kafka_topic_delete "$topic" || true
test_finish
