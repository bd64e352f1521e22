#!/usr/bin/env bash
# Dead-letter tooling (issue #13): `rtetl dlq stats` counts what a bad deploy dead-lettered;
# `rtetl dlq replay` sends the wrong_type records back after the fix, each exactly once across
# an interrupted and resumed run, leaves malformed ones alone, respects --dry-run and
# --max-replays, and a replayed record that fails again keeps its rtetl.replay.count.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/dlq_replay.py"
