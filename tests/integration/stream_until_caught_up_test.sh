#!/usr/bin/env bash
# rtetl stream --until-caught-up (issue #13) while a producer keeps writing: exits 0 by itself
# with exactly the records below the high watermarks noted at assignment processed and
# committed, a second run takes the rest, --max-records still bounds it; and /metrics shows
# per-partition lag and committed offsets and dead letters by reason. About 60 s.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/stream_until_caught_up.py"
