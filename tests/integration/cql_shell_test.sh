#!/usr/bin/env bash
# `rtetl cql` against the real Cassandra: DDL, table/json/csv output, -f scripts, stdin, errors.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/cql_shell.py"
