#!/usr/bin/env bash
# CQL client vs the Python cassandra-driver on the real Cassandra: every type written by one and
# read by the other, field by field, including hostile text (quotes, NUL, UTF-8, 1 MiB, empty).
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/cql_types.py"
