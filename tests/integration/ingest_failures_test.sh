#!/usr/bin/env bash
# rtetl ingest against a failing API on the real Kafka: fake-api --fail-rate 0.3 injects 503,
# 500, 429, HTML pages and JSON cut short; ingest retries them, and the topic holds exactly the
# requested records (nothing lost, nothing duplicated). With every answer failing, ingest gives
# up after --max-retries with exit code 1.
set -uo pipefail
. "$(dirname "$0")/ingest_lib.sh"

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
