#!/usr/bin/env bash
# A Cassandra node killed with kill -9 mid-run at replication factor 2, with rtetl stream at
# consistency ONE and QUORUM (tests/cluster/cassandra_nodeloss.py). It restarts the node with
# `scripts/stack up`, so the cluster is whole again afterwards for the tests that follow.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"
trap cluster_restore EXIT
cluster_ensure_up
"${RTETL_VENV_DIR:-$CLUSTER_SRC/.venv}/bin/python" "$CLUSTER_SRC/tests/cluster/cassandra_nodeloss.py"
