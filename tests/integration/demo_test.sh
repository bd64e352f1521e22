#!/usr/bin/env bash
# tier: slow
# `make demo` start to finish, non-interactive: scripts/demo with a short ingest must end with
# exit 0, every ingested record written, and rows in dados_usuarios.tb_usuarios (counted again
# with the Python driver, an independent reader).
set -uo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
free_port() { "$src/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
pass=0 fail=0
check() { # name, expected, actual
  if [ "$2" == "$3" ]; then pass=$((pass + 1)); echo "PASS $1"; else
    fail=$((fail + 1)); echo "FAIL $1: expected [$2] got [$3]"; fi
}
DEMO_DURATION=3s DEMO_API_PORT=$(free_port) DEMO_METRICS_PORT=$(free_port) \
  timeout 900 bash "$src/scripts/demo" >"$out" 2>&1
rc=$?
check "demo exits 0" 0 "$rc"
[ "$rc" -eq 0 ] || tail -n 40 "$out"
sent=$(grep -o 'msg=summary topic=data_kafka_topic sent=[0-9]*' "$out" | tail -1 | grep -o '[0-9]*$')
written=$(grep -o 'wrote [0-9]* records' "$out" | grep -o '[0-9]*')
[ -n "$sent" ] && [ "${sent:-0}" -gt 0 ]; check "demo ingested records" 0 $?
check "demo wrote every ingested record" "$sent" "$written"
grep -q '^==> a sample of rows' "$out"; check "demo printed a sample" 0 $?
rows=$("$src/.venv/bin/python" - <<'PY'
from cassandra.cluster import Cluster
c = Cluster(["127.0.0.1"], protocol_version=4)
s = c.connect()
print(sum(1 for _ in s.execute("SELECT id FROM dados_usuarios.tb_usuarios", timeout=120)))
c.shutdown()
PY
)
[ "${rows:-0}" -ge "${sent:-1}" ]; check "table holds at least this run's records ($rows >= $sent)" 0 $?
echo "demo: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
