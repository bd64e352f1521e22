#!/usr/bin/env bash
# Kafka order per key (issue #11): 500 keys x 40 versions with tied and backwards CreateTimes;
# every row must end as its key's last record after one pass, after a replay by a fresh group,
# and across two kill -9 and restarts.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/stream_upsert.py"
