#!/usr/bin/env bash
# rtetl stream with small --max-inflight values and --max-records: every record of the topic is
# consumed and accounted for (a first batch larger than the slot pool once stalled the stream
# for good, and --idle-exit then exited 0 with lag left), and --max-records N takes exactly N.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
bin="${RTETL_BIN:?RTETL_BIN must point at the rtetl binary}"
it_scratch
stack_ensure_up || exit 1

N=3000
topic="$(unique_name inflight)"
ks="$(unique_name ks_inflight)"
"$bin" ingest --source builtin --count "$N" --seed 16 --topic "$topic" --partitions 3 \
  --brokers "$KAFKA_BOOTSTRAP" --progress-interval 0 >/dev/null 2>"$tmp/ingest.log"
assert_eq 0 $? "ingest $N records"
stop_if_failed


# stream NAME ARGS...: runs rtetl stream on the topic with a fresh group; the log goes to $tmp/NAME.
stream() {
  local name="$1" rc=0
  shift
  timeout 300 "$bin" stream --topic "$topic" --group "$(unique_name "g_$name")" --keyspace "$ks" \
    --brokers "$KAFKA_BOOTSTRAP" --cassandra "$CQL_HOST:$CQL_PORT" --status-interval 1s "$@" \
    2>"$tmp/$name.log" || rc=$?
  echo "$rc"
}

for m in 1 7 300; do
  rc=$(stream "m$m" --max-inflight "$m" --idle-exit 4s)
  assert_eq 0 "$rc" "--max-inflight $m: exit 0 after idling"
  assert_eq "$N" "$(stream_stat "$tmp/m$m.log" consumed)" "--max-inflight $m: every record consumed"
  done_n=$(($(stream_stat "$tmp/m$m.log" written) + $(stream_stat "$tmp/m$m.log" filtered) + \
    $(stream_stat "$tmp/m$m.log" dead_lettered)))
  assert_eq "$N" "$done_n" "--max-inflight $m: written + filtered + dead-lettered = consumed"
  # The final line comes after the partitions are released; the last status line before it.
  assert_eq 0 "$(stream_stat "$tmp/m$m.log" lag status)" "--max-inflight $m: no lag left at exit"
  [ "$(stream_stat "$tmp/m$m.log" consumed)" = "$N" ] || tail -5 "$tmp/m$m.log"
done

for m in 2048 50; do
  rc=$(stream "n$m" --max-inflight "$m" --max-records 100)
  assert_eq 0 "$rc" "--max-records 100 --max-inflight $m: exit 0"
  assert_eq 100 "$(stream_stat "$tmp/n$m.log" consumed)" \
    "--max-records 100 --max-inflight $m: exactly 100 consumed"
done

cql "DROP KEYSPACE IF EXISTS $ks" >/dev/null 2>&1 || true
kafka_topic_delete "$topic" || true
test_finish
