#!/usr/bin/env bash
# rtetl ingest from the HTTP API on the real Kafka: fake-api + ingest --api-url --count 1000;
# the topic then holds exactly 1000 messages whose keys equal the record ids and whose values
# are the 12-string-field records. Also: seeded API runs are reproducible, and an API answering
# 4xx makes ingest fail with exit code 1.
set -uo pipefail
. "$(dirname "$0")/ingest_lib.sh"

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
