#!/usr/bin/env bash
# tier: slow
# Crash safety of rtetl stream: kill -9 several times, restart Cassandra and Kafka mid-run;
# nothing may be lost or corrupted and committed offsets must reach the end.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/stream_crash.py"
