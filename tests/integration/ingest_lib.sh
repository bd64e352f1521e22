# Shared by the ingest_*_test.sh integration tests (sourced): settings, process cleanup by PID,
# check/wait helpers, a fake-api starter and a topic summary. Needs RTETL_BIN.
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
