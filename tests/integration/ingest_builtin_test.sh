#!/usr/bin/env bash
# rtetl ingest --source builtin on the real Kafka: 100,000 records all delivered (exact count,
# unique keys equal to the ids, valid records), message timestamps set at produce time, the
# topic created with --partitions, and --seed runs reproducible (ids included).
set -uo pipefail
bin="${RTETL_BIN:?RTETL_BIN must point at the rtetl binary}"
brokers="${RTETL_TEST_BROKERS:-127.0.0.1:9092}"
tmp=$(mktemp -d)
pids=()
pass=0 fail=0
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
check() { # name, expected, actual
  if [ "$2" == "$3" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL $1: expected [$2] got [$3]"; fi
}
wait_for() { # deadline in seconds, command...
  local end=$((SECONDS + $1)); shift
  until "$@"; do [ "$SECONDS" -ge "$end" ] && return 1; sleep 0.1; done
}
start_fake_api() { # log file, options... ; sets url
  "$bin" fake-api --port 0 "${@:2}" 2>"$1" &
  pids+=($!)
  wait_for 10 grep -q 'msg=listening' "$1" || { echo "FAIL fake-api did not start"; cat "$1"; exit 1; }
  url=$(grep -o 'url=[^ ]*' "$1" | head -1 | cut -d= -f2)
}
# Reads a whole topic and prints "<messages> <unique ids> <bad records>"; a bad record is one
# whose key differs from its id or that lacks the 12 string fields in order.
topic_summary() {
  kcat -C -b "$brokers" -t "$1" -o beginning -e -q -f '%k\t%s\n' 2>"$tmp/kcat.err" | python3 -c '
import json, sys
fields = ["id","first_name","last_name","gender","address","post_code","email","username",
          "dob","registered_date","phone","picture"]
n = bad = 0; ids = set()
for line in sys.stdin:
    n += 1
    key, _, value = line.rstrip("\n").partition("\t")
    try:
        rec = json.loads(value)
        ok = list(rec) == fields and all(isinstance(rec[f], str) for f in fields) \
             and rec["id"] == key and len(key) == 32 and key[12] == "4"
    except ValueError:
        ok = False
    bad += not ok; ids.add(key)
print(n, len(ids), bad)'
}

topic="ingest-builtin-$$-$RANDOM"
start_ms=$(date +%s%3N)
"$bin" ingest --source builtin --count 100000 --topic "$topic" --partitions 4 \
  --brokers "$brokers" --progress-interval 1s 2>"$tmp/ingest.log"
check "ingest exit code" 0 $?
end_ms=$(date +%s%3N)
grep -q 'msg=summary .*sent=100000 delivered=100000 undelivered=0' "$tmp/ingest.log"
check "summary line" 0 $?
check "topic: messages, unique keys, bad records" "100000 100000 0" "$(topic_summary "$topic")"
check "partitions of the created topic" 4 \
  "$(kcat -b "$brokers" -L -t "$topic" 2>/dev/null | grep -c '^ *partition ')"
# Every message carries its produce time (CreateTime) within the run.
out=$(kcat -C -b "$brokers" -t "$topic" -o beginning -e -q -f '%T\n' 2>/dev/null |
  awk -v s="$start_ms" -v e="$end_ms" '$1 < s || $1 > e {bad++} END {print NR, bad + 0}')
check "timestamps within the run" "100000 0" "$out"

# The same seed gives the same messages; another seed gives others.
for s in 42 42 43; do
  "$bin" ingest --count 2000 --seed "$s" --topic "$topic-seed$s-$RANDOM" --partitions 1 \
    --brokers "$brokers" --quiet 2>"$tmp/seed.log" || echo "FAIL seeded run $s"
  t=$(grep -o 'topic=[^ ]*' "$tmp/seed.log" | tail -1 | cut -d= -f2)
  kcat -C -b "$brokers" -t "$t" -o beginning -e -q -f '%k %s\n' 2>/dev/null | md5sum | cut -c1-32
done >"$tmp/sums"
check "seed 42 twice: identical" 1 "$(head -2 "$tmp/sums" | sort -u | wc -l)"
check "seed 43: different" 2 "$(sort -u "$tmp/sums" | wc -l)"

echo "ingest_builtin: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && echo PASS || echo FAIL
[ "$fail" -eq 0 ]
