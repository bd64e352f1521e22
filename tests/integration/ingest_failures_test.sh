#!/usr/bin/env bash
# rtetl ingest against a failing API on the real Kafka: fake-api --fail-rate 0.3 injects 503,
# 500, 429, HTML pages and JSON cut short; ingest retries them, and the topic holds exactly the
# requested records (nothing lost, nothing duplicated). With every answer failing, ingest gives
# up after --max-retries with exit code 1.
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

start_fake_api "$tmp/fake.log" --fail-rate 0.3
topic="ingest-failures-$$-$RANDOM"
"$bin" ingest --api-url "$url" --count 3000 --results 50 --max-retries 30 --topic "$topic" \
  --brokers "$brokers" --quiet 2>"$tmp/ingest.log"
check "ingest exit code" 0 $?
grep -q 'msg=summary .*sent=3000 delivered=3000 undelivered=0' "$tmp/ingest.log"
check "summary line" 0 $?
retries=$(grep -c 'msg="API request failed, retrying"' "$tmp/ingest.log")
[ "$retries" -ge 5 ]
check "retries happened (saw $retries)" 0 $?
grep -q 'detail=.*HTTP 200 but not JSON' "$tmp/ingest.log"
check "a malformed answer was logged with an excerpt" 0 $?
check "topic: messages, unique keys, bad records" "3000 3000 0" "$(topic_summary "$topic")"
# fake-api reports its injected failures when stopped; they equal ingest's retries.
kill -TERM "${pids[0]}"
wait_for 10 grep -q 'msg=stopped' "$tmp/fake.log"
check "fake-api stopped on SIGTERM" 0 $?
check "injected failures = retries" "$retries" \
  "$(grep -o 'injected_failures=[0-9]*' "$tmp/fake.log" | cut -d= -f2)"

# Every answer failing: ingest gives up after --max-retries, exit 1, nothing sent.
start_fake_api "$tmp/fake2.log" --fail-rate 1
"$bin" ingest --api-url "$url" --count 10 --max-retries 2 --topic "$topic" \
  --brokers "$brokers" --quiet 2>"$tmp/err.log"
check "retries used up: exit code" 1 $?
grep -q '^rtetl ingest: error: .*(gave up after 2 retries)' "$tmp/err.log"
check "retries used up: error line" 0 $?

echo "ingest_failures: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && echo PASS || echo FAIL
[ "$fail" -eq 0 ]
