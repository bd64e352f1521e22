#!/usr/bin/env bash
# The CQL client's session against the real Cassandra: >10k async inserts and a paged read,
# batches, transparent re-prepare on UNPREPARED, schema events, and a short throughput run.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/cql_client.py"
