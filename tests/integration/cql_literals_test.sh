#!/usr/bin/env bash
# Timestamp, date and time text: rtetl's parser against Cassandra's own parsing of the same
# literals (stored values compared; what Cassandra refuses, rtetl must refuse).
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/cql_literals.py"
