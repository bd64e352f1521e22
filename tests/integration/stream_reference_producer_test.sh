#!/usr/bin/env bash
# rtetl stream fed by a producer written like the reference's (kafka-python, records flattened
# from `rtetl fake-api`, numeric and string postcodes), then by confluent-kafka with keyed updates;
# the table is read back with the Python cassandra-driver and with real cqlsh.
set -uo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
# ingest_lib.sh: start_fake_api, and a trap that stops it by PID whatever happens.
. "$src/tests/integration/ingest_lib.sh"
start_fake_api "$tmp/fake.log" --seed reference-producer
RTETL_FAKE_API_URL="$url" "${RTETL_VENV_DIR:-$src/.venv}/bin/python" \
  "$src/tests/integration/stream_reference_producer.py"
