#!/usr/bin/env bash
# tier: slow
# Three rtetl stream members of one group: partitions logged and in /metrics, rolling SIGTERM
# restarts and a kill -9 while keyed updates flow; 0 lost, 0 stale (issue #14).
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/stream_rolling.py"
