#!/usr/bin/env bash
# rtetl ingest from the HTTP API on the real Kafka: fake-api + ingest --api-url --count 1000;
# the topic then holds exactly 1000 messages whose keys equal the record ids and whose values
# are the 12-string-field records. Also: seeded API runs are reproducible, and an API answering
# 4xx makes ingest fail with exit code 1.
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

start_fake_api "$tmp/fake.log"
topic="ingest-api-$$-$RANDOM"
"$bin" ingest --api-url "$url" --count 1000 --topic "$topic" --brokers "$brokers" --quiet \
  2>"$tmp/ingest.log"
check "ingest exit code" 0 $?
grep -q 'msg=summary .*sent=1000 delivered=1000 undelivered=0' "$tmp/ingest.log"
check "summary line" 0 $?
check "api requests (10 x 100)" 1 "$(grep -c 'api_requests=10 ' "$tmp/ingest.log")"
check "topic: messages, unique keys, bad records" "1000 1000 0" "$(topic_summary "$topic")"

# Seeded API runs ask for seed=S&page=P and give the same records (ids included).
for i in 1 2; do
  "$bin" ingest --api-url "$url" --count 250 --results 100 --seed replay --topic "$topic-s$i" \
    --brokers "$brokers" --partitions 1 --quiet 2>>"$tmp/ingest.log"
  check "seeded run $i exit code" 0 $?
  kcat -C -b "$brokers" -t "$topic-s$i" -o beginning -e -q -f '%k %s\n' >"$tmp/s$i" 2>/dev/null
done
check "seeded runs: 250 messages" 250 "$(wc -l <"$tmp/s1")"
cmp -s "$tmp/s1" "$tmp/s2"
check "seeded runs identical" 0 $?

# A 4xx answer is not retried: exit 1 with a clear error line.
"$bin" ingest --api-url "${url%api/}no-such-path/" --count 10 --topic "$topic" \
  --brokers "$brokers" --quiet 2>"$tmp/err.log"
check "4xx exit code" 1 $?
grep -q "^rtetl ingest: error: GET .*HTTP 404" "$tmp/err.log"
check "4xx error line" 0 $?

echo "ingest_api: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && echo PASS || echo FAIL
[ "$fail" -eq 0 ]
