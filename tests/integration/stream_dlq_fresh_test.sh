#!/usr/bin/env bash
# Dead letters produced right after rtetl stream created a fresh dead-letter topic all arrive
# (3 rounds of 400 malformed records, each into a new dead-letter topic). About 30 s.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/stream_dlq_fresh.py"
