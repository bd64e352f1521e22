#!/usr/bin/env bash
# tier: slow
# The Airflow DAG real-time-etl-stack on the pinned Airflow 2.10 (scripts/airflow install: the
# first run builds the cached venv, minutes; later runs reuse it): imports cleanly, a run streams
# records to Kafka and (through rtetl stream) Cassandra, a failing ingest or health check fails it.
# RTETL_AIRFLOW_VERSION=3.3.2 runs the same test on Airflow 3 (by hand; not part of make test).
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/airflow_dag.py"
