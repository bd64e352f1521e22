#!/usr/bin/env bash
# A SIGTERM while the stack's Kafka broker is frozen (SIGSTOP) ends `rtetl stream` within its
# bounds and loses nothing: a second run in the same group finishes the topic. About a minute.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/stream_kafka_frozen_stop.py"
