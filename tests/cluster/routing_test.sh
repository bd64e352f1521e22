#!/usr/bin/env bash
# Token-aware routing on a 2-node cluster, proved from the server side (tests/cluster/routing.py).
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"
trap cluster_restore EXIT
cluster_ensure_up
"${RTETL_VENV_DIR:-$CLUSTER_SRC/.venv}/bin/python" "$CLUSTER_SRC/tests/cluster/routing.py"
