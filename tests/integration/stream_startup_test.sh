#!/usr/bin/env bash
# rtetl stream start-up failures: no broker, no Cassandra, a bad YAML key, a bad filter. Each
# must end with exit 1 (runtime) or 2 (configuration) and one clear error line on stderr.
set -uo pipefail
bin="${RTETL_BIN:?RTETL_BIN must point at the rtetl binary}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { # name, expected, actual
  if [ "$2" == "$3" ]; then pass=$((pass + 1)); echo "PASS $1"; else
    fail=$((fail + 1)); echo "FAIL $1: expected [$2] got [$3]"; fi
}
errline() { grep '^rtetl stream' "$1"; }

timeout 60 "$bin" stream --brokers 127.0.0.1:1 --status-interval 0 2>"$tmp/a"
check "no broker: exit 1" 1 $?
check "no broker: error line" \
  "rtetl stream: error: kafka: brokers did not answer a metadata request within 10000 ms: Local: Broker transport failure" \
  "$(errline "$tmp/a")"

timeout 60 "$bin" stream --cassandra 127.0.0.1:1 --topic "startup_$$_$RANDOM" \
  --status-interval 0 2>"$tmp/b"
check "no cassandra: exit 1" 1 $?
check "no cassandra: error line" \
  "rtetl stream: error: cassandra: cannot connect: 127.0.0.1:1: connection refused at 127.0.0.1:1" \
  "$(errline "$tmp/b")"

printf 'source:\n  topic: t\ntarget:\n  tabel: x\n' >"$tmp/bad.yaml"
"$bin" stream --config "$tmp/bad.yaml" 2>"$tmp/c"
check "bad yaml: exit 2" 2 $?
check "bad yaml: error line with the line number" \
  "rtetl stream: $tmp/bad.yaml:4: unknown key 'tabel' in target (see 'rtetl stream --help')" \
  "$(cat "$tmp/c")"

"$bin" stream --filter "contains(emial, '@')" 2>"$tmp/d"
check "bad filter: exit 2" 2 $?
check "bad filter: error line with the column" \
  "rtetl stream: <default>: filter:1:10: unknown field 'emial' (see 'rtetl stream --help')" \
  "$(cat "$tmp/d")"

echo "stream_startup: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
