#!/usr/bin/env bash
# rtetl init (schema inference) on reference-shaped records from `rtetl fake-api` sent with
# kafka-python; its YAML run by rtetl stream reproduces the reference table; --dry-run prints
# the rows and writes and commits nothing.
set -uo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
# ingest_lib.sh: start_fake_api, and a trap that stops it by PID whatever happens.
. "$src/tests/integration/ingest_lib.sh"
start_fake_api "$tmp/fake.log" --seed stream-init
RTETL_FAKE_API_URL="$url" "${RTETL_VENV_DIR:-$src/.venv}/bin/python" \
  "$src/tests/integration/stream_init.py"
