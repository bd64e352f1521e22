#!/usr/bin/env bash
# Two rtetl stream processes in one consumer group share the partitions; stopping one moves its
# partitions to the other with nothing lost.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/stream_group.py"
