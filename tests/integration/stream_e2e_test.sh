#!/usr/bin/env bash
# rtetl stream end to end on the real stack: 50,000 builtin records plus crafted bad messages;
# checks the table (with the Python cassandra-driver), the dead-letter topic and the counters.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/stream_e2e.py"
