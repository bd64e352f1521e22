#!/usr/bin/env bash
# tier: slow
# airflow_dag_test.sh on the pinned Airflow 3.3.2 (its own cached venv, built by scripts/airflow
# install on the first run, 1-1.5 min): the DAG imports, a run with the stream service writes the
# rows, the batch-style run (until_caught_up) writes them itself. The failure runs (a failing
# ingest, catch-up or health check) stay on 2.10 only: they test Airflow's retries and trigger
# rules (the same on both) at ~2 min each here; the DAG's own failure paths are checked on 3.3.2
# by airflow_dagcheck.py. RTETL_AIRFLOW_FAILURE_RUNS=1 runs them here too.
set -euo pipefail
export RTETL_AIRFLOW_VERSION=3.3.2
export RTETL_AIRFLOW_FAILURE_RUNS="${RTETL_AIRFLOW_FAILURE_RUNS:-0}"
exec bash "$(dirname "$0")/airflow_dag_test.sh"
