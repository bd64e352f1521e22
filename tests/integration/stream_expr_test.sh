#!/usr/bin/env bash
# Mapping expressions and the expression filter end to end (issue #15, first steps): computed
# columns written, a record whose expression fails dead-lettered with the reason.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/stream_expr.py"
