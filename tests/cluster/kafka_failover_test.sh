#!/usr/bin/env bash
# Kafka broker failover without loss: kill -9 a partition leader mid-run, restart it
# (tests/cluster/kafka_failover.py). It restarts the broker with `scripts/stack up`, so the
# cluster is whole again afterwards for the tests that follow.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"
trap cluster_restore EXIT
cluster_ensure_up
"${RTETL_VENV_DIR:-$CLUSTER_SRC/.venv}/bin/python" "$CLUSTER_SRC/tests/cluster/kafka_failover.py"
