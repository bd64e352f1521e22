#!/usr/bin/env bash
# tier: slow
# Authentication and TLS of the CQL client against a real Cassandra: a second node (its own state
# dir and ports, started and stopped here) with PasswordAuthenticator, a plain port and a
# TLS-only port (native_transport_port_ssl, client_encryption_options optional: false) whose
# certificate, for IP 127.0.0.1, is signed by a CA made here with openssl (keystore by keytool).
# Checks `rtetl cql` (good, wrong and missing credentials, a role without permission; TLS with
# the CA, without it, with another CA, for another name, plain to TLS and TLS to plain), the
# async API's error codes, many large writes over TLS (and TLS + lz4) read back by our client and
# by the official Python driver, and the server's view of our connections (system_views.clients).
# The TLS port requires client certificates (require_client_auth, a truststore with the test CA):
# every TLS client presents one (--cert-file/--key-file), none or one of another CA is refused.
# Then `rtetl stream` runs the whole path through it: records from the shared stack's Kafka into
# the secured node over mutual TLS with the password from --password-file, read back by the
# Python driver; the password appears in no log line and no --print-config output.
# One JVM for all subjects: a Cassandra start is the slow part. Slow tier.
#
# Env: RTETL_AUTH_TLS_PORT [9142] (the TLS port is +1), RTETL_AUTH_TLS_STORAGE_PORT [7100] (+1 for
# SSL storage), RTETL_AUTH_TLS_JMX_PORT [7699] (the cluster tier has 7299 and 7399),
# RTETL_AUTH_TLS_DIR (state; default a new temp dir, removed at exit), RTETL_AUTH_TLS_KEEP=1
# leaves the node up and the dir in place.
set -euo pipefail

src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
bin="${RTETL_BIN:-$src/build/rtetl}"
driver="$(dirname "$bin")/cql_auth_tls_driver"
py="${RTETL_VENV_DIR:-$src/.venv}/bin/python"
stack="$src/scripts/stack"
name="$(basename "$0" .sh)"
port="${RTETL_AUTH_TLS_PORT:-9142}"
tls_port=$((port + 1))
storage="${RTETL_AUTH_TLS_STORAGE_PORT:-7100}"
keep="${RTETL_AUTH_TLS_KEEP:-0}"
if [ -n "${RTETL_AUTH_TLS_DIR:-}" ]; then
  work="$RTETL_AUTH_TLS_DIR"
  own_work=0
  mkdir -p "$work"
else
  work="$(mktemp -d /tmp/rtetl-cql-auth-tls.XXXXXX)"
  own_work=1
fi
pki="$work/pki"
ks="it_auth_tls_$$"
ks2="${ks}_lz4"
ks3="${ks}_stream"
# The shared stack's Kafka (the stream section), read before RTETL_STACK_DIR points elsewhere.
shared_stack_dir="${RTETL_STACK_DIR:-$src/.stack}"
kafka="$("$stack" env 2>/dev/null | sed -n 's/^STACK_KAFKA_BOOTSTRAP=//p')"
kafka="${kafka:-127.0.0.1:9092}"
topic="it_auth_tls_$$_$RANDOM"

# The second node: only Cassandra, other ports, auth on, the TLS settings appended to its yaml.
export RTETL_STACK_DIR="$work/stack" RTETL_STACK_SERVERS=cassandra RTETL_CQL_PORT="$port"
export RTETL_STORAGE_PORT="$storage" RTETL_SSL_STORAGE_PORT=$((storage + 1))
export RTETL_JMX_PORT="${RTETL_AUTH_TLS_JMX_PORT:-7699}" RTETL_CASSANDRA_AUTH=1
export RTETL_CASSANDRA_HEAP="${RTETL_CASSANDRA_HEAP:-768M}" RTETL_CASSANDRA_YAML_EXTRA="$work/tls.yaml"
export RTETL_STACK_TIMEOUT="${RTETL_STACK_TIMEOUT:-420}"

# pass/fail and their counters (_it_passed, _it_failed) come from the shared helpers; this test
# runs its own node and exit handler, so it uses nothing else of them.
# shellcheck source=lib.sh
. "$src/tests/integration/lib.sh"
finished=0 up_pid=""
log() { printf '[%s] %s\n' "$name" "$*" >&2; }
# expect_rc WANT MSG CMD...: runs CMD (output to $work/out, $work/err) and checks its exit code.
expect_rc() {
  local want="$1" msg="$2" rc=0
  shift 2
  timeout 120 "$@" >"$work/out" 2>"$work/err" || rc=$?
  if [ "$rc" = "$want" ]; then pass "$msg (exit $rc)"; else
    fail "$msg: exit $rc, expected $want"
    sed 's/^/  | /' "$work/out" "$work/err" | head -20
  fi
}
# expect_err REGEX MSG: the last command's stderr is one line matching REGEX.
expect_err() {
  local text lines
  text="$(cat "$work/err")"
  lines="$(wc -l <"$work/err")"
  if [ "$lines" = 1 ] && [[ "$text" =~ $1 ]]; then pass "$2: $text"; else
    fail "$2: expected one line matching '$1', got $lines line(s):"
    sed 's/^/  | /' "$work/err" | head -10
  fi
}
expect_out() {
  local text
  text="$(cat "$work/out")"
  if [[ "$text" =~ $1 ]]; then pass "$2"; else
    fail "$2: output does not match '$1':"
    sed 's/^/  | /' "$work/out" | head -10
  fi
}
# expect_ok MSG CMD...: CMD exits 0; its output is shown indented.
expect_ok() {
  local msg="$1" rc=0
  shift
  timeout 300 "$@" >"$work/out" 2>&1 || rc=$?
  sed 's/^/  | /' "$work/out"
  if [ "$rc" = 0 ]; then pass "$msg"; else fail "$msg: exit $rc"; fi
}

auth=(--user cassandra --password cassandra)
cql_plain=("$bin" cql --port "$port")
client_id=(--cert-file "$pki/client.pem" --key-file "$pki/client.key")
cql_tls=("$bin" cql --port "$tls_port" --tls --ca-file "$pki/ca.pem" "${client_id[@]}" "${auth[@]}")

cleanup() {
  local rc=$?
  set +e
  if [ "$finished" = 0 ]; then
    fail "exited (status $rc) before the end"
    [ "$rc" = 0 ] && rc=1
  fi
  if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then kill "$up_pid" 2>/dev/null; fi
  RTETL_STACK_DIR="$shared_stack_dir" "$stack" topics --delete --if-exists --topic "$topic" \
    >/dev/null 2>&1
  if [ "$keep" != 1 ]; then
    if [ -f "$RTETL_STACK_DIR/cassandra.pid" ]; then
      timeout 60 "$bin" cql --port "$port" "${auth[@]}" -e "DROP KEYSPACE IF EXISTS $ks;
        DROP KEYSPACE IF EXISTS $ks2; DROP KEYSPACE IF EXISTS $ks3;
        DROP ROLE IF EXISTS ${ks}_reader; DROP ROLE IF EXISTS ${ks}_stream" >/dev/null 2>&1
      log "stopping the second node"
      "$stack" down >&2 || rc=1
    fi
    [ "$own_work" = 1 ] && rm -rf "$work"
  else
    log "RTETL_AUTH_TLS_KEEP=1: node left up, state in $work"
  fi
  printf '%s: %d passed, %d failed\n' "$name" "$_it_passed" "$_it_failed"
  [ "$_it_failed" = 0 ] || rc=1
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -x "$bin" ] || { fail "no rtetl binary at $bin"; exit 1; }
[ -x "$driver" ] || { fail "no driver at $driver"; exit 1; }

# ---- PKI: a CA, the server's certificate for IP 127.0.0.1, a keystore; an unrelated CA ------
make_pki() {
  mkdir -p "$pki"
  cd "$pki"
  local ca
  for ca in ca other-ca; do
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$ca.key" -out "$ca.pem" -days 2 \
      -subj "/CN=rtetl test $ca" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  done
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1" \
    2>/dev/null
  printf '%s\n' "subjectAltName=IP:127.0.0.1" "basicConstraints=CA:FALSE" \
    "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server.pem 2>/dev/null
  # Client certificates for mutual TLS: one from the CA, one from the other CA.
  local who
  for who in client:ca other-client:other-ca; do
    openssl req -newkey rsa:2048 -nodes -keyout "${who%%:*}.key" -out "${who%%:*}.csr" \
      -subj "/CN=rtetl ${who%%:*}" 2>/dev/null
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=digitalSignature,keyEncipherment" \
      "extendedKeyUsage=clientAuth" >client.ext
    openssl x509 -req -in "${who%%:*}.csr" -CA "${who#*:}.pem" -CAkey "${who#*:}.key" \
      -CAcreateserial -days 2 -extfile client.ext -out "${who%%:*}.pem" 2>/dev/null
  done
  keytool -importcert -noprompt -alias rtetl-test-ca -file ca.pem -keystore truststore.p12 \
    -storetype PKCS12 -storepass rtetl-test-pw >/dev/null 2>&1
  openssl pkcs12 -export -in server.pem -inkey server.key -certfile ca.pem -name cassandra \
    -out server-openssl.p12 -passout pass:rtetl-test-pw
  # keytool rewrites the store in Java's own PKCS12 form, which proves Java can read it.
  keytool -importkeystore -srckeystore server-openssl.p12 -srcstoretype PKCS12 \
    -srcstorepass rtetl-test-pw -destkeystore keystore.p12 -deststoretype PKCS12 \
    -deststorepass rtetl-test-pw -noprompt >/dev/null 2>&1
  cd - >/dev/null
  cat >"$work/tls.yaml" <<EOF
native_transport_port_ssl: $tls_port
client_encryption_options:
  enabled: true
  optional: false
  keystore: $pki/keystore.p12
  keystore_password: rtetl-test-pw
  store_type: PKCS12
  require_client_auth: true
  truststore: $pki/truststore.p12
  truststore_password: rtetl-test-pw
EOF
}
make_pki
if openssl verify -CAfile "$pki/ca.pem" "$pki/server.pem" "$pki/client.pem" >/dev/null &&
  keytool -list -keystore "$pki/truststore.p12" -storepass rtetl-test-pw 2>/dev/null |
  grep -q trustedCertEntry &&
  keytool -list -keystore "$pki/keystore.p12" -storepass rtetl-test-pw 2>/dev/null |
  grep -q PrivateKeyEntry; then
  pass "CA, server and client certificates, keystore and truststore made"
else
  fail "certificate or keystore generation"
  exit 1
fi

# ---- the second node ---------------------------------------------------------------------
log "starting Cassandra on 127.0.0.1:$port (plain) and :$tls_port (TLS only), auth on"
"$stack" up >&2 &
up_pid=$!
wait "$up_pid" || { up_pid=""; fail "scripts/stack up (second node)"; exit 1; }
up_pid=""
tls_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$tls_port" 2>/dev/null; }
deadline=$(($(date +%s) + 60))
until tls_open; do
  [ "$(date +%s)" -lt "$deadline" ] || { fail "TLS port $tls_port not open 60 s after the plain port"; exit 1; }
  sleep 0.2
done
pass "second node up: plain $port, TLS $tls_port"

# ---- authentication (plain port) ----------------------------------------------------------
q="SELECT release_version FROM system.local"
expect_rc 0 "auth: good credentials" "${cql_plain[@]}" "${auth[@]}" --format csv -e "$q"
expect_out $'release_version\n5\\.' "auth: the server's version is printed"
expect_rc 1 "auth: wrong password fails" "${cql_plain[@]}" --user cassandra --password wrong -e "$q"
expect_err 'Provided username cassandra and/or password are incorrect' "auth: server's message, one line"
expect_rc 1 "auth: no credentials fails" "${cql_plain[@]}" -e "$q"
expect_err 'requires authentication' "auth: no credentials says so, one line"
expect_rc 1 "auth: unknown user fails" "${cql_plain[@]}" --user nobody --password x -e "$q"
expect_err 'Provided username nobody' "auth: unknown user, one line"
expect_rc 0 "auth: password from RTETL_PASSWORD" env RTETL_PASSWORD=cassandra \
  "$bin" cql --port "$port" --user cassandra -e "$q"
expect_ok "auth: async connect with a wrong password -> bad credentials, not retriable" \
  env CQL_PORT="$port" CQL_USER=cassandra CQL_PASSWORD=wrong "$driver" connect-fail bad_credentials
expect_ok "auth: async connect without credentials -> CQL_E_AUTH, not retriable" \
  env CQL_PORT="$port" "$driver" connect-fail auth

# A role that may read but not write: the server's UNAUTHORIZED reaches the user as one line.
expect_rc 0 "auth: create keyspaces, a table and a read-only role" "${cql_plain[@]}" "${auth[@]}" -e "
  CREATE KEYSPACE $ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};
  CREATE KEYSPACE $ks2 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};
  CREATE TABLE $ks.cli (k text PRIMARY KEY, v text);
  CREATE ROLE ${ks}_reader WITH PASSWORD = 'r3ader' AND LOGIN = true;
  GRANT SELECT ON KEYSPACE $ks TO ${ks}_reader"
expect_rc 0 "auth: the reader can read" "${cql_plain[@]}" --user "${ks}_reader" --password r3ader \
  -e "SELECT * FROM $ks.cli"
expect_rc 1 "auth: the reader cannot write" "${cql_plain[@]}" --user "${ks}_reader" --password r3ader \
  -e "INSERT INTO $ks.cli (k, v) VALUES ('no', 'no')"
expect_err "has no MODIFY permission" "auth: unauthorized, server's message, one line"

# ---- TLS (TLS-only port) -------------------------------------------------------------------
expect_rc 0 "tls: --tls --ca-file with the test CA" "${cql_tls[@]}" --format csv -e "$q"
expect_out $'release_version\n5\\.' "tls: the server's version is printed"
expect_rc 1 "tls: without --ca-file the system store does not trust the server" \
  "$bin" cql --port "$tls_port" --tls "${auth[@]}" -e "$q"
expect_err 'TLS handshake: certificate verify failed' "tls: verification error, one line"
expect_rc 1 "tls: another CA does not verify the server" \
  "$bin" cql --port "$tls_port" --tls --ca-file "$pki/other-ca.pem" "${auth[@]}" -e "$q"
expect_err 'certificate verify failed' "tls: wrong CA, one line"
expect_rc 1 "tls: a certificate for another name (127.0.0.1 dialled as localhost) fails" \
  "$bin" cql --host localhost --port "$tls_port" --tls --ca-file "$pki/ca.pem" "${auth[@]}" -e "$q"
expect_err 'hostname mismatch' "tls: name mismatch, one line"
expect_rc 1 "tls: a missing CA file fails" \
  "$bin" cql --port "$tls_port" --tls --ca-file "$work/nonexistent.pem" "${auth[@]}" -e "$q"
expect_err 'cannot load CA file.*nonexistent' "tls: missing CA file, one line"
expect_rc 0 "tls: --tls-verify=false connects without a CA (insecure mode)" \
  "$bin" cql --port "$tls_port" --tls --tls-verify=false "${client_id[@]}" "${auth[@]}" -e "$q"
expect_rc 1 "mtls: without a client certificate the server refuses (no hang)" \
  "$bin" cql --port "$tls_port" --tls --ca-file "$pki/ca.pem" "${auth[@]}" -e "$q"
expect_err "127.0.0.1:$tls_port: .*client certificate" "mtls: no client certificate, one line with a hint"
expect_rc 1 "mtls: a client certificate of another CA is refused" \
  "$bin" cql --port "$tls_port" --tls --ca-file "$pki/ca.pem" --cert-file "$pki/other-client.pem" \
  --key-file "$pki/other-client.key" "${auth[@]}" -e "$q"
expect_err "127.0.0.1:$tls_port: .*client certificate" "mtls: untrusted client certificate, one line with a hint"
expect_rc 1 "mtls: a key that is not the certificate's fails before connecting" \
  "$bin" cql --port "$tls_port" --tls --ca-file "$pki/ca.pem" --cert-file "$pki/client.pem" \
  --key-file "$pki/other-client.key" "${auth[@]}" -e "$q"
expect_err "client key does not match the certificate" "mtls: mismatched key, one line"
expect_rc 1 "tls: plain CQL to the TLS-only port fails (no hang)" \
  "$bin" cql --port "$tls_port" "${auth[@]}" -e "$q"
expect_err "127.0.0.1:$tls_port: .*does the server require TLS" "tls: plain to TLS port, one line with a hint"
expect_rc 1 "tls: TLS to the plain port fails (no hang)" \
  "$bin" cql --port "$port" --tls --ca-file "$pki/ca.pem" "${auth[@]}" -e "$q"
expect_err "TLS handshake: .*is the server's port TLS" "tls: TLS to plain port, one line with a hint"
expect_ok "tls: async connect without the CA -> CQL_E_TLS, not retriable" \
  env CQL_PORT="$tls_port" CQL_TLS=1 CQL_USER=cassandra CQL_PASSWORD=cassandra \
  "$driver" connect-fail tls

# Data over TLS: many large writes in flight, read back by us and by the Python driver.
tls_env=(CQL_PORT="$tls_port" CQL_TLS=1 CQL_CA_FILE="$pki/ca.pem" CQL_USER=cassandra
  CQL_PASSWORD=cassandra CQL_CERT_FILE="$pki/client.pem" CQL_KEY_FILE="$pki/client.key")
rows=300
expect_ok "tls: $rows rows (blobs up to 1 MiB) written async over TLS and read back" \
  env "${tls_env[@]}" "$driver" write "$ks" "$rows"
expect_ok "tls+lz4: $rows rows written async over TLS with lz4 and read back" \
  env "${tls_env[@]}" CQL_LZ4=1 "$driver" write "$ks2" "$rows"
expect_rc 0 "tls: rtetl cql inserts a row over TLS" "${cql_tls[@]}" \
  -e "INSERT INTO $ks.cli (k, v) VALUES ('k1', 'written over TLS ✓')"

# ---- rtetl stream through the secured node: mutual TLS, password from a file ------------------
stream_rows=400
# A role of its own with a password that can be searched for in every output.
secret="Str3am-S3cret-$$-$RANDOM"
pwfile="$work/stream.password"
printf '%s\n' "$secret" >"$pwfile"
chmod 600 "$pwfile"
expect_rc 0 "stream: a login role for the stream" "${cql_plain[@]}" "${auth[@]}" -e "
  CREATE ROLE ${ks}_stream WITH PASSWORD = '$secret' AND LOGIN = true AND SUPERUSER = true"
stream_tls=(--cassandra "127.0.0.1:$tls_port" --tls --ca-file "$pki/ca.pem" "${client_id[@]}"
  --user "${ks}_stream" --password-file "$pwfile")
expect_rc 0 "stream: $stream_rows records produced to the shared Kafka ($kafka)" \
  "$bin" ingest --source builtin --count "$stream_rows" --seed 11 --topic "$topic" \
  --partitions 2 --brokers "$kafka" --quiet
expect_rc 0 "stream: --print-config with --password-file" "$bin" stream --topic "$topic" \
  --keyspace "$ks3" "${stream_tls[@]}" --print-config
if grep -qF "$secret" "$work/out" "$work/err"; then fail "stream: --print-config shows the password"; else
  pass "stream: --print-config does not show the password"
fi
rc=0
timeout 300 "$bin" --log-level debug stream --topic "$topic" --group "g_$topic" --keyspace "$ks3" \
  --until-caught-up --brokers "$kafka" "${stream_tls[@]}" >"$work/stream.log" 2>&1 || rc=$?
if [ "$rc" = 0 ]; then pass "stream: --until-caught-up over mutual TLS exits 0"; else
  fail "stream: exit $rc"
  tail -20 "$work/stream.log" | sed 's/^/  | /'
fi
written="$(sed -n 's/.*msg=final .* written=\([0-9]*\).*/\1/p' "$work/stream.log")"
assert_eq "$stream_rows" "$written" "stream: every record written"
if grep -qF "$secret" "$work/stream.log"; then fail "stream: the password appears in its debug log"; else
  pass "stream: the password appears in no line of its debug log"
fi
printf 'wrong-password\n' >"$work/wrong.password"
expect_rc 1 "stream: a wrong password in --password-file fails fast (no hang)" \
  "$bin" stream --topic "$topic" --group "g2_$topic" --keyspace "$ks3" --until-caught-up \
  --brokers "$kafka" --cassandra "127.0.0.1:$tls_port" --tls --ca-file "$pki/ca.pem" \
  "${client_id[@]}" --user "${ks}_stream" --password-file "$work/wrong.password"
if grep -q "Provided username ${ks}_stream and/or password are incorrect" "$work/err" &&
  ! grep -q wrong-password "$work/err" "$work/out"; then
  pass "stream: wrong password: the server's message, the secret not echoed"
else
  fail "stream: wrong password: expected the server's message without the secret"
  sed 's/^/  | /' "$work/err" | tail -5
fi
expect_rc 2 "stream: --password and --password-file together are a usage error" \
  "$bin" stream --topic "$topic" --password x --password-file "$pwfile" --print-config
expect_rc 2 "stream: an unreadable --password-file is a usage error" \
  "$bin" stream --topic "$topic" --password-file "$work/nonexistent" --print-config
expect_err "cannot read --password-file .*nonexistent" "stream: unreadable password file, one line"

expect_ok "tls: the Python driver (ssl_context, CA, client certificate, host name check) reads what we and rtetl stream wrote" \
  env CQL_CERT_FILE="$pki/client.pem" CQL_KEY_FILE="$pki/client.key" \
  "$py" "$src/tests/integration/cql_auth_tls_check.py" "$tls_port" "$pki/ca.pem" "$ks" "$rows" \
  "$ks3" "$stream_rows"
expect_rc 0 "tls: the server's view of our connections" "${cql_tls[@]}" --format csv \
  -e "SELECT ssl_enabled, ssl_protocol, username, driver_name FROM system_views.clients"
# Only the rows of our own connections are asserted: others may still be closing.
expect_out $'\nTrue,TLSv1\\.[23],cassandra,rtetl' "tls: the server sees our connection as TLS 1.2+, user cassandra"

finished=1
