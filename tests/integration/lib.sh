# tests/integration/lib.sh: shared helpers for integration tests on the local stack (source it).
# shellcheck shell=bash
#
# DESIGN: a test sources this file, installs `trap it_exit EXIT` and calls `stack_ensure_up`,
# so it works alone (it starts the stack and stops it again) and inside a suite that
# already started the stack (it leaves the stack up). The stack's addresses come from
# `scripts/stack env`, never from constants, so a stack on other ports (RTETL_*_PORT) works.
# Waiting is always for a condition with a deadline (wait_for), never a fixed sleep. Assertions
# print PASS/FAIL lines with both values, count, and do not stop the test (like gtest's EXPECT_*;
# `stop_if_failed` makes a later step conditional); `test_finish` prints the closing
# "name: N passed, N failed" line and returns the exit status. it_exit turns an early exit
# (set -e, a missing test_finish) into a FAIL and a non-zero status.
#
# Provided (all names are safe to call under `set -euo pipefail`):
#   RTETL_ROOT STACK PY                     repo root, scripts/stack, the venv's python
#   KAFKA_BOOTSTRAP CQL_HOST CQL_PORT       set by stack_env (called by stack_ensure_up)
#   stack_ensure_up / stack_restore         start if needed / stop only if we started it
#   it_exit                                 for `trap it_exit EXIT`: summary + stack_restore
#   it_scratch [VAR...]                     $tmp plus an EXIT trap that kills the PIDs in VARs,
#                                           stops the proxy, removes $tmp, then it_exit
#   stack_env                               (re)load the addresses above
#   wait_for SECONDS DESCRIPTION CMD...     poll CMD until it succeeds; 1 on timeout
#   unique_name PREFIX                      e.g. rtetl_it_prefix_12345_1700000000123
#   kcat_produce TOPIC [KCAT ARGS...]       one message per stdin line, delivered or fail
#   kcat_consume TOPIC COUNT [SECONDS] [KCAT ARGS...]  print COUNT message values, from the start
#   kafka_topic_create NAME [PARTITIONS]    via Kafka's own kafka-topics (a JVM: ~2-5 s)
#   kafka_topic_delete NAME
#   cql_py 'PYTHON' [ARGS...]               run PYTHON with `cluster`, `session`, `args` bound
#   cql 'STATEMENT'                         one statement; rows printed tab-separated
#   proxy_start [--drop]                    a freezable TCP proxy to Cassandra (freeze_proxy.py):
#                                           sets PROXY_PID and PROXY_PORT; proxy_freeze / proxy_thaw
#   stream_stat LOG KEY [LABEL]             KEY's value in the last LABEL (final) status line of LOG
#   pass MSG / fail MSG                     record a result by hand
#   assert_eq EXPECTED ACTUAL MSG           also: assert_ne, assert_match REGEX ACTUAL MSG,
#                                           assert_contains HAYSTACK NEEDLE MSG,
#                                           assert_ok MSG CMD... (CMD exits 0)
#   stop_if_failed                          exit now (status 1) if anything failed so far
#   test_finish                             summary line; returns 0 iff nothing failed
#
# Env: RTETL_STACK_KEEP=1 makes stack_restore never stop the stack (handy when iterating).

RTETL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK="$RTETL_ROOT/scripts/stack"
PY="${RTETL_VENV_DIR:-$RTETL_ROOT/.venv}/bin/python"
_it_started_stack=0
_it_passed=0
_it_failed=0
_it_finished=0
_it_name="$(basename "${0:-test}" .sh)"

_it_log() { printf '[%s] %s\n' "$_it_name" "$*" >&2; }

stack_env() {
  local line
  while IFS= read -r line; do
    case "$line" in STACK_*=*) export "${line?}" ;; esac
  done < <("$STACK" env)
  KAFKA_BOOTSTRAP="$STACK_KAFKA_BOOTSTRAP"
  CQL_HOST="$STACK_CQL_HOST"
  CQL_PORT="$STACK_CQL_PORT"
  export KAFKA_BOOTSTRAP CQL_HOST CQL_PORT
}

# Starts the stack unless it is already up and ready, and remembers whether it did.
stack_ensure_up() {
  if "$STACK" status >/dev/null 2>&1; then
    _it_log "stack already up; it will be left up"
  else
    # A server that runs but is not ready yet (a busy machine) is waited for, not owned.
    if "$STACK" status 2>/dev/null | awk 'NR > 1 && $2 ~ /^[0-9]+$/ {f = 1} END {exit !f}'; then
      _it_log "stack runs but is not ready yet; waiting for it (it will be left up)"
    else
      _it_log "bringing the stack up"
      _it_started_stack=1
    fi
    "$STACK" up || {
      _it_log "scripts/stack up failed"
      return 1
    }
  fi
  PY="$("$RTETL_ROOT/scripts/venv")"
  stack_env
}

# Stops the stack only if stack_ensure_up started it. Meant for `trap stack_restore EXIT`.
stack_restore() {
  if [ "$_it_started_stack" = 1 ] && [ "${RTETL_STACK_KEEP:-0}" != 1 ]; then
    _it_log "stopping the stack this test started"
    _it_started_stack=0
    "$STACK" down || true
  fi
}

# wait_for SECONDS DESCRIPTION CMD...: runs CMD until it exits 0 (returns 0) or SECONDS pass
# (prints what it waited for, returns 1). Polls every 0.1 s at first, backing off to 1 s.
wait_for() {
  local secs="$1" what="$2" delay=0.1 deadline
  shift 2
  deadline=$(($(date +%s%N) / 1000000 + secs * 1000))
  while :; do
    if "$@"; then return 0; fi
    if [ $(($(date +%s%N) / 1000000)) -ge "$deadline" ]; then
      _it_log "wait_for: timed out after ${secs}s waiting for: $what"
      return 1
    fi
    sleep "$delay"
    case "$delay" in 0.1) delay=0.2 ;; 0.2) delay=0.5 ;; *) delay=1 ;; esac
  done
}

# Waits up to SECS seconds for the child PID to exit (kill -9 after that) and reaps it: REAP_RC
# holds its exit status; returns 1 when it had to be killed. For checks of a stop after SIGTERM.
reap_within() {
  local secs="$1" pid="$2" rc=0
  wait_for "$secs" "process $pid to exit" bash -c "! kill -0 $pid 2>/dev/null" || rc=1
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null; fi
  REAP_RC=0
  wait "$pid" || REAP_RC=$?
  return "$rc"
}

# A name unique to this run, valid as a Kafka topic and as an unquoted CQL identifier
# (lower case, [a-z0-9_], starts with a letter, under 48 characters).
unique_name() {
  local p
  p="$(printf '%s' "${1:-t}" | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9_' '_' | cut -c1-16)"
  printf 'it_%s_%s_%s\n' "$p" "$$" "$(date +%s%N | cut -c8-16)"
}

kcat_produce() {
  local topic="$1"
  shift
  # -T would echo; -q silences kcat's own notes; a failed delivery makes kcat exit non-zero.
  kcat -P -q -b "$KAFKA_BOOTSTRAP" -t "$topic" -X message.timeout.ms=30000 "$@"
}

kcat_consume() {
  local topic="$1" count="$2" secs="${3:-30}"
  shift 2
  [ $# -gt 0 ] && shift
  timeout "$secs" kcat -C -q -b "$KAFKA_BOOTSTRAP" -t "$topic" -o beginning -c "$count" "$@"
}

kafka_topic_create() {
  "$STACK" topics --create --if-not-exists --topic "$1" --partitions "${2:-1}" \
    --replication-factor 1 >/dev/null
}

kafka_topic_delete() {
  "$STACK" topics --delete --if-exists --topic "$1" >/dev/null
}

# cql_py 'PYTHON' [ARGS...]: runs PYTHON with the official driver connected to the stack's
# node: `cluster`, `session` (no keyspace; set CQL_KEYSPACE to pick one) and `args` (ARGS as
# strings) are bound. Output is PYTHON's; an exception prints a traceback and exits 1.
cql_py() {
  [ -n "${CQL_PORT:-}" ] || stack_env
  "$PY" -c '
import logging, os, sys, warnings
logging.disable(logging.CRITICAL)
warnings.filterwarnings("ignore")
from cassandra.cluster import Cluster
from cassandra.auth import PlainTextAuthProvider
src, args = sys.argv[1], sys.argv[2:]
kw = {}
if os.environ.get("STACK_CASSANDRA_AUTH") == "1":
    kw["auth_provider"] = PlainTextAuthProvider("cassandra", "cassandra")
cluster = Cluster([os.environ["CQL_HOST"]], port=int(os.environ["CQL_PORT"]),
                  connect_timeout=10, **kw)
session = cluster.connect(os.environ.get("CQL_KEYSPACE") or None)
session.default_timeout = 30
try:
    exec(compile(src, "<cql_py>", "exec"), {"cluster": cluster, "session": session, "args": args})
finally:
    cluster.shutdown()
' "$@"
}

cql() {
  cql_py '
for row in session.execute(args[0]):
    print("\t".join("" if v is None else str(v) for v in row))
' "$1"
}

# A stand-in for a Cassandra node that stops answering, without touching the shared node: the
# caller stops it by PID (kill "$PROXY_PID" in its trap).
proxy_start() {
  local out
  out="$(mktemp)"
  "$PY" "$RTETL_ROOT/tests/integration/freeze_proxy.py" "$CQL_HOST" "$CQL_PORT" "$@" >"$out" &
  PROXY_PID=$!
  wait_for 30 "the proxy to listen" grep -q '^port ' "$out" || return 1
  PROXY_PORT="$(sed -n 's/^port //p' "$out")"
  rm -f "$out"
}
proxy_freeze() { kill -USR1 "$PROXY_PID"; }
proxy_thaw() { kill -USR2 "$PROXY_PID"; }

stream_stat() {
  grep "msg=${3:-final}" "$1" | tail -1 | grep -o " $2=[0-9-]*" | cut -d= -f2
}

pass() {
  _it_passed=$((_it_passed + 1))
  printf 'PASS: %s\n' "$*"
}

fail() {
  _it_failed=$((_it_failed + 1))
  printf 'FAIL: %s\n' "$*"
}

assert_eq() {
  if [ "$1" == "$2" ]; then pass "$3"; else
    fail "$3"
    printf '  expected: %s\n  actual:   %s\n' "$(printf '%q' "$1")" "$(printf '%q' "$2")"
  fi
}

assert_ne() {
  if [ "$1" != "$2" ]; then pass "$3"; else
    fail "$3"
    printf '  expected anything but: %s\n' "$(printf '%q' "$1")"
  fi
}

assert_match() {
  if [[ "$2" =~ $1 ]]; then pass "$3"; else
    fail "$3"
    printf '  expected to match: %s\n  actual:            %s\n' "$1" "$(printf '%q' "$2")"
  fi
}

assert_contains() {
  if [[ "$1" == *"$2"* ]]; then pass "$3"; else
    fail "$3"
    printf '  expected to contain: %s\n  actual:              %s\n' "$(printf '%q' "$2")" \
      "$(printf '%q' "$1")"
  fi
}

assert_ok() {
  local msg="$1" rc=0
  shift
  "$@" || rc=$?
  if [ "$rc" = 0 ]; then pass "$msg"; else
    fail "$msg"
    printf '  command exited %s: %s\n' "$rc" "$*"
  fi
}

stop_if_failed() {
  if [ "$_it_failed" != 0 ]; then
    _it_log "stopping after the failure above"
    exit 1
  fi
}

test_finish() {
  _it_finished=1
  printf '%s: %d passed, %d failed\n' "$_it_name" "$_it_passed" "$_it_failed"
  [ "$_it_failed" = 0 ] && [ "$_it_passed" -gt 0 ]
}

# it_scratch [VAR...]: makes the scratch directory $tmp and installs the EXIT trap: SIGKILL the
# process whose PID each named variable holds (empty ones are skipped), stop the proxy
# (PROXY_PID), remove $tmp (KEEP_TMP=1 keeps it) and finish through it_exit.
it_scratch() {
  tmp=$(mktemp -d)
  _it_kill_vars="$*"
  trap _it_scratch_exit EXIT
}
_it_scratch_exit() {
  local v
  for v in $_it_kill_vars; do [ -n "${!v:-}" ] && kill -9 "${!v}" 2>/dev/null; done
  [ -n "${PROXY_PID:-}" ] && kill "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "logs kept in $tmp"; else rm -rf "$tmp"; fi
  it_exit
}

# For `trap it_exit EXIT`: reports an exit before test_finish as a failure, then stack_restore.
# After test_finish the exit status is its verdict, whatever ran in between: a trap that cleans
# up first (rm -rf ...; it_exit) would otherwise hand on the status of its last command and
# turn a failed test into exit 0.
it_exit() {
  local rc=$?
  if [ "$_it_finished" = 0 ]; then
    fail "exited (status $rc) before test_finish"
    test_finish || true
    [ "$rc" = 0 ] && rc=1
  elif [ "$_it_failed" = 0 ] && [ "$_it_passed" -gt 0 ]; then
    rc=0
  else
    rc=1
  fi
  stack_restore
  exit "$rc"
}
