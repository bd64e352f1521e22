#!/usr/bin/env bash
# A Cassandra node added to and decommissioned from the running cluster under load, and the
# routing proof at replication factor 2 over 3 nodes (tests/cluster/cassandra_topology.py).
# The cluster has its 2 nodes again afterwards, also on failure: the Python test takes node 3
# out, and if it could not (killed, crashed), the trap below does.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"
shrink() {
  local n
  n="$("$CLUSTER_STACK" env 2>/dev/null | sed -n 's/^STACK_CASSANDRA_NODES=//p')"
  if [ "${n:-0}" -gt 2 ]; then
    echo "cluster: node 3 is still in the ring; decommissioning it" >&2
    "$CLUSTER_STACK" decommission || true
  fi
}
trap 'shrink; cluster_restore' EXIT
cluster_ensure_up
"${RTETL_VENV_DIR:-$CLUSTER_SRC/.venv}/bin/python" "$CLUSTER_SRC/tests/cluster/cassandra_topology.py"
