#!/usr/bin/env bash
# Replica-grouped unlogged batches (issue #12): Kafka order per key inside and across batches,
# a batch with a bad record split down to the record (only it dead-lettered), parity with
# batches off.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/stream_batch.py"
