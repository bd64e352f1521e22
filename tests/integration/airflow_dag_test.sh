#!/usr/bin/env bash
# tier: slow
# The Airflow DAG real-time-etl-stack on the pinned Airflow 2.10 (scripts/airflow install: the
# first run builds the cached venv, minutes; later runs reuse it): imports cleanly, a run streams
# records to Kafka and (through rtetl stream) Cassandra, a batch-style run (until_caught_up)
# writes them itself, a failing ingest or health check fails it. airflow3_dag_test.sh runs the
# same test on Airflow 3.3.2; RTETL_AIRFLOW_VERSION picks another pinned version by hand.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
export RTETL_AIRFLOW_VERSION="${RTETL_AIRFLOW_VERSION:-2.10.5}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/airflow_dag.py"
