#!/usr/bin/env bash
# Typed schema fields and typed columns end to end (issue #15): timestamp, date, uuid, list and
# map fields and to_timestamp/to_date/to_uuid columns written by `rtetl stream` from JSON must
# equal what Cassandra stores for the same text given as CQL literals.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/stream_types.py"
