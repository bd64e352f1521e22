#!/usr/bin/env bash
# Fan-out targets end to end (issue #15): examples/fanout-users.yaml writes one topic into two
# tables plus a delete target, with keyed updates, deletes and tombstones (stream_fanout.py).
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/stream_fanout.py"
