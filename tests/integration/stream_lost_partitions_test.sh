#!/usr/bin/env bash
# A member whose partitions are lost (SIGSTOP past session.timeout.ms) and assigned back to it
# resumes from its own progress, not from the group's older commit. About 30 s.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/stream_lost_partitions.py"
