#!/usr/bin/env bash
# The conformance table as integration tests: crafted messages (bad JSON, wrong types, duplicate
# keys, invalid UTF-8, deep nesting, oversize values and keys, tombstones...) produced with
# confluent-kafka; each named check asserts rtetl's row or dead letter for one kind of input.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/stream_conformance.py"
