#!/usr/bin/env bash
# tier: slow
# Kafka security end to end: a Kafka of its own (`scripts/stack up --secure`: SASL_SSL with
# SCRAM-SHA-512 on the client listener, a CA and broker certificate made at start-up, the
# StandardAuthorizer) started and stopped here, beside whatever else runs on the box. ACLs give
# the `ingest` user WRITE on the topic only, and the `stream` user READ on the topic and its
# group and WRITE on the dead-letter topic only. Checks: rtetl ingest --kafka-config delivers N
# records (read back by kcat as admin); rtetl stream --kafka-config --sink null
# --until-caught-up consumes them all and dead-letters one malformed record (produced by the
# admin) through the stream user's ACL (read back with confluent-kafka as admin); a wrong
# password, a missing READ on the topic or on the group, and a write to a topic without an ACL
# each end with exit 1, quickly, and one clear line; no password appears in any output.
#
# Env: RTETL_KAFKA_SECURE_PORT [19292] (the controller takes +1), RTETL_KAFKA_SECURE_KEEP=1
# leaves the broker up and its state dir in place.
set -euo pipefail

src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
bin="${RTETL_BIN:-$src/build/rtetl}"
stack="$src/scripts/stack"
name="$(basename "$0" .sh)"
port="${RTETL_KAFKA_SECURE_PORT:-19292}"
keep="${RTETL_KAFKA_SECURE_KEEP:-0}"
work="$(mktemp -d /tmp/rtetl-kafka-secure.XXXXXX)"
out="$work/out"
mkdir -p "$out"
brokers="127.0.0.1:$port"
topic="ksec_$$_$RANDOM"
other="${topic}_other"
group="g_$topic"
records=300

# Only Kafka, on ports of its own, with its own state dir (never the shared stack's).
export RTETL_STACK_DIR="$work/stack" RTETL_STACK_SERVERS=kafka RTETL_KAFKA_PORT="$port"
export RTETL_KAFKA_CONTROLLER_PORT=$((port + 1)) RTETL_KAFKA_HEAP="${RTETL_KAFKA_HEAP:-384m}"
export RTETL_STACK_STOP_TIMEOUT="${RTETL_STACK_STOP_TIMEOUT:-20}"
unset RTETL_STACK_KEEP RTETL_KAFKA_SECURE

# shellcheck source=lib.sh
. "$src/tests/integration/lib.sh"
finished=0 up_pid=""
log() { printf '[%s] %s\n' "$name" "$*" >&2; }

cleanup() {
  local rc=$?
  set +e
  if [ "$finished" = 0 ]; then
    fail "exited (status $rc) before the end"
    [ "$rc" = 0 ] && rc=1
  fi
  if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then kill "$up_pid" 2>/dev/null; fi
  if [ "$keep" != 1 ]; then
    local pid
    pid="$(cat "$RTETL_STACK_DIR/kafka.pid" 2>/dev/null || true)"
    log "stopping the secure broker${pid:+ (pid $pid)}"
    "$stack" down >&2 || rc=1
    # By PID as well, should `down` have failed: only a process whose command line names our
    # own state dir (a recycled PID is left alone).
    if [ -n "$pid" ] && tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$RTETL_STACK_DIR/"; then
      kill -KILL "$pid" 2>/dev/null
      fail "the broker (pid $pid) was still running after scripts/stack down"
      rc=1
    fi
    rm -rf "$work"
  else
    log "RTETL_KAFKA_SECURE_KEEP=1: broker left up, state in $work"
  fi
  printf '%s: %d passed, %d failed\n' "$name" "$_it_passed" "$_it_failed"
  [ "$_it_failed" = 0 ] || rc=1
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -x "$bin" ] || { fail "no rtetl binary at $bin"; exit 1; }
[ -x "$PY" ] || { fail "no venv python at $PY (set RTETL_VENV_DIR)"; exit 1; }
t_start=$(date +%s)

# run NAME WANT_RC MAX_SECONDS CMD...: runs CMD with stdout/stderr in $out/NAME.{out,err};
# checks the exit code and that it came within MAX_SECONDS (a hang is a failure, not a wait).
run() {
  local n="$1" want="$2" max="$3" rc=0 t0 dt
  shift 3
  t0=$(date +%s%N)
  timeout "$((max + 30))" "$@" >"$out/$n.out" 2>"$out/$n.err" || rc=$?
  dt=$((($(date +%s%N) - t0) / 1000000))
  if [ "$rc" = "$want" ] && [ "$dt" -le $((max * 1000)) ]; then
    pass "$n: exit $rc in ${dt} ms"
  else
    fail "$n: exit $rc in ${dt} ms, expected exit $want within ${max} s"
    sed 's/^/  | /' "$out/$n.out" "$out/$n.err" | tail -15
  fi
}
# one_line NAME REGEX: NAME's stderr is exactly one line, matching REGEX.
one_line() {
  local lines text
  lines="$(wc -l <"$out/$1.err")"
  text="$(cat "$out/$1.err")"
  if [ "$lines" = 1 ] && [[ "$text" =~ $2 ]]; then pass "$1: one line: $text"; else
    fail "$1: expected one line matching '$2', got $lines line(s):"
    sed 's/^/  | /' "$out/$1.err" | head -10
  fi
}

# ---- the secure broker --------------------------------------------------------------------
log "starting a secure Kafka on $brokers (state $RTETL_STACK_DIR)"
"$stack" up --secure >"$out/stack-up.log" 2>&1 &
up_pid=$!
if wait "$up_pid"; then up_pid="" && pass "scripts/stack up --secure"; else
  up_pid=""
  fail "scripts/stack up --secure"
  tail -30 "$out/stack-up.log"
  exit 1
fi
eval "$("$stack" env | grep '^STACK_KAFKA_')"
sec="$(dirname "$STACK_KAFKA_CA")"
assert_eq 1 "$STACK_KAFKA_SECURE" "env: the stack says it is secure"
for u in admin stream ingest; do
  assert_eq 600 "$(stat -c %a "$sec/$u.password")" "secrets: $u.password is mode 600"
  assert_eq 600 "$(stat -c %a "$sec/$u.properties")" "secrets: $u.properties is mode 600"
done
assert_match "security.protocol=SASL_SSL" "$(cat "$STACK_KAFKA_STREAM_CONFIG")" \
  "secrets: the stream user's client file is librdkafka SASL_SSL"
assert_ok "tls: the broker's certificate verifies against the CA, for IP 127.0.0.1" \
  openssl verify -CAfile "$STACK_KAFKA_CA" "$sec/broker.pem"
if openssl x509 -in "$sec/broker.pem" -noout -ext subjectAltName 2>/dev/null | grep -q 'IP Address:127.0.0.1'; then
  pass "tls: the broker certificate has IP SAN 127.0.0.1"
else fail "tls: no IP SAN 127.0.0.1 in the broker certificate"; fi
run plaintext-refused 1 15 kcat -L -b "$brokers" -m 3
run admin-metadata 0 15 kcat -L -b "$brokers" -m 10 -F "$STACK_KAFKA_ADMIN_CONFIG"
assert_match "sasl_ssl://127.0.0.1:$port" "$(cat "$out/admin-metadata.out")" \
  "the admin sees the broker on its SASL_SSL listener"

# ---- topics (admin, with confluent-kafka) and ACLs (scripts/stack acls) ----------------------
run create-topics 0 60 "$PY" - "$STACK_KAFKA_ADMIN_CONFIG" "$brokers" "$topic" "$topic.dlq" "$other" <<'PY'
import sys
from confluent_kafka.admin import AdminClient, NewTopic
conf = {}
for line in open(sys.argv[1]):
    line = line.strip()
    if line and not line.startswith("#"):
        k, v = line.split("=", 1)
        conf[k] = v
conf["bootstrap.servers"] = sys.argv[2]
admin = AdminClient(conf)
futs = admin.create_topics([NewTopic(t, num_partitions=2 if i == 0 else 1, replication_factor=1)
                            for i, t in enumerate(sys.argv[3:])], operation_timeout=30)
for t, f in futs.items():
    f.result(60)
    print("created", t)
PY
run acl-ingest 0 60 "$stack" acls --add --allow-principal User:ingest --operation Write \
  --operation Describe --topic "$topic"
run acl-stream-read 0 60 "$stack" acls --add --allow-principal User:stream --operation Read \
  --operation Describe --topic "$topic" --group "$group"
run acl-stream-dlq 0 60 "$stack" acls --add --allow-principal User:stream --operation Write \
  --operation Describe --topic "$topic.dlq"
run acl-list 0 60 "$stack" acls --list --topic "$topic"
assert_match "User:ingest.*WRITE" "$(cat "$out/acl-list.out")" "acls: ingest may write the topic"
assert_match "User:stream.*READ" "$(cat "$out/acl-list.out")" "acls: stream may read the topic"
stop_if_failed

# ---- the path: ingest -> topic -> stream (-> DLQ) -----------------------------------------
run ingest 0 60 "$bin" --log-level debug ingest --source builtin --count "$records" --seed 5 \
  --topic "$topic" --brokers "$brokers" --kafka-config "$STACK_KAFKA_INGEST_CONFIG" --quiet
got="$(timeout 60 kcat -C -b "$brokers" -F "$STACK_KAFKA_ADMIN_CONFIG" -t "$topic" -e -q \
  -f '%o\n' 2>"$out/kcat-read.err" | wc -l)"
assert_eq "$records" "$got" "ingest: kcat (admin) reads back every record ingest delivered"
run admin-produce-bad 0 30 kcat -P -b "$brokers" -F "$STACK_KAFKA_ADMIN_CONFIG" -t "$topic" \
  -p 0 <<<"this is not json"
run print-config 0 15 "$bin" stream --topic "$topic" --group "$group" --sink null \
  --kafka-config "$STACK_KAFKA_STREAM_CONFIG" --print-config
run stream 0 60 "$bin" --log-level debug stream --topic "$topic" --group "$group" --sink null \
  --until-caught-up --brokers "$brokers" --kafka-config "$STACK_KAFKA_STREAM_CONFIG"
final="$(grep 'msg=final' "$out/stream.err" | tail -1)"
assert_match " consumed=$((records + 1)) " "$final" "stream: consumed every record (and the bad one)"
assert_match " written=$records " "$final" "stream: every good record passed the null sink"
assert_match " dead_lettered=1 " "$final" "stream: the malformed record was dead-lettered"
run dlq-read 0 60 "$PY" - "$STACK_KAFKA_ADMIN_CONFIG" "$brokers" "$topic.dlq" <<'PY'
import sys, time
from confluent_kafka import Consumer
conf = {}
for line in open(sys.argv[1]):
    line = line.strip()
    if line and not line.startswith("#"):
        k, v = line.split("=", 1)
        conf[k] = v
conf.update({"bootstrap.servers": sys.argv[2], "group.id": "ksec-check",
             "auto.offset.reset": "earliest", "enable.auto.commit": False})
c = Consumer(conf)
c.subscribe([sys.argv[3]])
got, deadline = [], time.time() + 30
while time.time() < deadline and not got:
    m = c.poll(0.5)
    if m is not None and not m.error():
        got.append(m)
c.close()
assert got, "no dead letter"
headers = dict(got[0].headers() or [])
print("value=%s reason=%s" % (got[0].value().decode(), headers.get("rtetl.error", b"").decode()))
PY
assert_match "value=this is not json reason=." "$(cat "$out/dlq-read.out")" \
  "dlq: confluent-kafka (admin) reads the dead letter the stream user wrote, with its reason"
run dlq-stats 0 60 "$bin" dlq stats --source-topic "$topic" --brokers "$brokers" \
  --kafka-config "$STACK_KAFKA_ADMIN_CONFIG" --format json
assert_match '"total": *1' "$(cat "$out/dlq-stats.out")" "dlq stats --kafka-config (admin) counts 1"

# ---- failures: one line, exit 1, no hang ----------------------------------------------------
wrong="Wr0ng-$$-$RANDOM"
sed "s/^sasl.password=.*/sasl.password=$wrong/" "$STACK_KAFKA_INGEST_CONFIG" >"$work/bad-ingest.properties"
sed "s/^sasl.password=.*/sasl.password=$wrong/" "$STACK_KAFKA_STREAM_CONFIG" >"$work/bad-stream.properties"
run ingest-wrong-password 1 20 "$bin" --log-level warn ingest --source builtin --count 5 \
  --topic "$topic" --brokers "$brokers" --kafka-config "$work/bad-ingest.properties" --quiet
one_line ingest-wrong-password '^rtetl ingest: error: kafka: SASL authentication failed: .*invalid credentials.*\(check sasl.username and sasl.password\)$'
run stream-wrong-password 1 20 "$bin" --log-level warn stream --topic "$topic" --group "$group" \
  --sink null --until-caught-up --brokers "$brokers" --kafka-config "$work/bad-stream.properties"
one_line stream-wrong-password '^rtetl stream: error: kafka: SASL authentication failed: .*\(check sasl.username and sasl.password\)$'
# -X wins over the file: the wrong password fixed on the command line works.
run stream-x-overrides 0 60 "$bin" --log-level warn stream --topic "$topic" --group "$group" \
  --sink null --until-caught-up --brokers "$brokers" --kafka-config "$work/bad-stream.properties" \
  -X "sasl.password=$(cat "$STACK_KAFKA_STREAM_PASSWORD_FILE")"
run stream-no-group-acl 1 20 "$bin" --log-level warn stream --topic "$topic" --group "${group}_x" \
  --sink null --until-caught-up --brokers "$brokers" --kafka-config "$STACK_KAFKA_STREAM_CONFIG"
one_line stream-no-group-acl "^rtetl stream: error: kafka: not authorized for consumer group ${group}_x: .*Group authorization failed.*missing READ ACL on the group"
run stream-no-topic-acl 1 20 "$bin" --log-level warn stream --topic "$other" --group "$group" \
  --dlq-topic "$topic.dlq" --sink null --until-caught-up --brokers "$brokers" \
  --kafka-config "$STACK_KAFKA_STREAM_CONFIG"
one_line stream-no-topic-acl "^rtetl stream: error: kafka: not authorized for topic $other: .*[Aa]uthorization failed.*missing ACL"
run stream-no-dlq-acl 1 20 "$bin" --log-level warn stream --topic "$topic" --group "$group" \
  --dlq-topic "$other" --sink null --until-caught-up --brokers "$brokers" \
  --kafka-config "$STACK_KAFKA_STREAM_CONFIG"
one_line stream-no-dlq-acl "^rtetl stream: error: kafka: not authorized for topic $other: .*dead-letter topic"
run ingest-no-topic-acl 1 20 "$bin" --log-level warn ingest --source builtin --count 5 \
  --topic "$other" --brokers "$brokers" --kafka-config "$STACK_KAFKA_INGEST_CONFIG" --quiet
one_line ingest-no-topic-acl "^rtetl ingest: error: kafka: not authorized for topic $other: .*missing ACL"
run ingest-no-topic-acl-nocreate 1 20 "$bin" --log-level warn ingest --source builtin --count 5 \
  --topic "$other" --brokers "$brokers" --kafka-config "$STACK_KAFKA_INGEST_CONFIG" --quiet \
  --no-create-topic
one_line ingest-no-topic-acl-nocreate "^rtetl ingest: error: kafka: not authorized for topic $other: .*missing ACL"
run ingest-reads-nothing 0 30 kcat -C -b "$brokers" -F "$STACK_KAFKA_ADMIN_CONFIG" -t "$other" -e -q
assert_eq "" "$(cat "$out/ingest-reads-nothing.out")" "the topic without an ACL for ingest stayed empty"
printf 'security.protocol=SASL_SSL\nsasl.password %s\n' "$wrong" >"$work/broken.properties"
run bad-config-file 2 10 "$bin" stream --topic "$topic" --kafka-config "$work/broken.properties" \
  --print-config
one_line bad-config-file "^rtetl stream: .*broken.properties:2: expected key=value"

# ---- no secret in any output -----------------------------------------------------------------
leaks=""
for s in "$(cat "$STACK_KAFKA_ADMIN_PASSWORD_FILE")" "$(cat "$STACK_KAFKA_STREAM_PASSWORD_FILE")" \
  "$(cat "$STACK_KAFKA_INGEST_PASSWORD_FILE")" "$wrong"; do
  [ -n "$s" ] || continue
  # stream-x-overrides carries the password on its command line, not in its output.
  if grep -rlF -- "$s" "$out" >/dev/null; then leaks="$leaks $(grep -rlF -- "$s" "$out" | xargs -n1 basename)"; fi
done
assert_eq "" "$leaks" "no password in any output ($(ls "$out" | wc -l) files, incl. debug logs and --print-config)"

log "wall time $(($(date +%s) - t_start)) s"
finished=1
