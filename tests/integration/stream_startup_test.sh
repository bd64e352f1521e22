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

# -X keys that rtetl's at-least-once delivery relies on cannot be overridden: exit 2, one line.
timeout 60 "$bin" stream --brokers 127.0.0.1:1 -X enable.auto.offset.store=true 2>"$tmp/e"
check "-X enable.auto.offset.store: exit 2" 2 $?
check "-X enable.auto.offset.store: error line" \
  "rtetl stream: -X enable.auto.offset.store: set by rtetl and cannot be changed: an offset is stored only once its record is written or dead-lettered (see 'rtetl stream --help')" \
  "$(cat "$tmp/e")"
for kv in enable.auto.commit=false acks=1 request.required.acks=0; do
  timeout 60 "$bin" stream --brokers 127.0.0.1:1 -X "$kv" 2>"$tmp/f"
  check "-X $kv: exit 2" 2 $?
  check "-X $kv: one line naming the key" "1 1" \
    "$(wc -l <"$tmp/f") $(grep -c "^rtetl stream: -X ${kv%%=*}: set by rtetl" "$tmp/f")"
done

# A signal during start-up (here: Cassandra accepts the connection and never answers) is a
# clean stop: exit 0, as the help says.
py="${RTETL_VENV_DIR:-$(dirname "$0")/../../.venv}/bin/python"
[ -x "$py" ] || py=python3
"$py" -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
conns = []
deadline = time.time() + 120
while time.time() < deadline:
    s.settimeout(1)
    try:
        c, _ = s.accept(); conns.append(c); print("accepted", flush=True)
    except socket.timeout:
        pass
' >"$tmp/silent" &
silent=$!
trap 'kill "$silent" 2>/dev/null; [ -n "${spid:-}" ] && kill -9 "$spid" 2>/dev/null; rm -rf "$tmp"' EXIT
waitfor() { # seconds, command...
  local end=$(($(date +%s) + $1))
  shift
  until "$@"; do [ "$(date +%s)" -ge "$end" ] && return 1; sleep 0.2; done
}
waitfor 10 grep -q . "$tmp/silent"
port=$(head -1 "$tmp/silent")
"$bin" stream --cassandra "127.0.0.1:$port" --topic "startup_sig_$$_$RANDOM" --status-interval 0 \
  2>"$tmp/g" &
spid=$!
waitfor 60 grep -q accepted "$tmp/silent"
check "signal during start-up: Cassandra connection opened" 0 $?
kill -TERM "$spid"
waitfor 15 bash -c "! kill -0 $spid 2>/dev/null"
check "signal during start-up: exits within 15 s" 0 $?
kill -9 "$spid" 2>/dev/null
wait "$spid"
check "signal during start-up: exit 0" 0 $?
spid=""
kill "$silent" 2>/dev/null

echo "stream_startup: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
