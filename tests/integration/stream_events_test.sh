#!/usr/bin/env bash
# The events example end to end (issue #15): TTLs per target, a key derived from the event,
# Kafka metadata columns, and a replay by a new group that changes nothing (stream_events.py).
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/stream_events.py"
