# tests/cluster/lib.sh: the cluster tier's stack: 3 Kafka brokers and 2 Cassandra nodes started
# by scripts/stack in their own state dir ($RTETL_CLUSTER_DIR, default <repo>/.stack-cluster), on
# 127.0.0.2/.3, beside the single-node stack of the other tiers (127.0.0.1), never touching it.
# shellcheck shell=bash
#
# DESIGN: one cluster start is shared by the tier (starting it costs ~1 min on 2 cores): the
# ctest fixture (`bash lib.sh setup|cleanup`) starts it when it is not up and stops it again
# afterwards only in that case. A test run alone sources this file and calls cluster_ensure_up
# with `trap cluster_restore EXIT`: it starts the cluster if needed and stops it (by the PID
# files of scripts/stack) on any exit, failure included. RTETL_CLUSTER_KEEP=1 never stops it.
#   cluster_ensure_up / cluster_restore   start if needed / stop only if we started it
#   cluster_env                           exports STACK_* of the cluster and the RTETL_TEST_*
#                                         addresses the Python test library reads

CLUSTER_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export RTETL_STACK_DIR="${RTETL_CLUSTER_DIR:-$CLUSTER_SRC/.stack-cluster}"
CLUSTER_STACK="$CLUSTER_SRC/scripts/stack"
CLUSTER_UP_ARGS=(--kafka-brokers 3 --cassandra-nodes 2)
_cluster_started=0

cluster_env() {
  local line
  while IFS= read -r line; do
    case "$line" in STACK_*=*) export "${line?}" ;; esac
  done < <("$CLUSTER_STACK" env)
  export RTETL_TEST_BROKERS="$STACK_KAFKA_BOOTSTRAP" RTETL_TEST_CQL_HOST="$STACK_CQL_HOST"
  export RTETL_TEST_CQL_PORT="$STACK_CQL_PORT"
}

# A cluster whose nodes run but are not all ready yet is waited for, not owned.
cluster_ensure_up() {
  if "$CLUSTER_STACK" status >/dev/null 2>&1; then
    echo "cluster: already up in $RTETL_STACK_DIR; it will be left up" >&2
  else
    # status exits non-zero here: read its output first (under pipefail a pipeline from it
    # would fail whatever awk says, and the cluster would wrongly count as ours).
    local st
    st="$("$CLUSTER_STACK" status 2>/dev/null || true)"
    if awk 'NR > 1 && $2 ~ /^[0-9]+$/ {f = 1} END {exit !f}' <<<"$st"; then
      echo "cluster: runs but is not ready yet; waiting for it (it will be left up)" >&2
    else
      _cluster_started=1
    fi
    local t0=$SECONDS
    "$CLUSTER_STACK" up "${CLUSTER_UP_ARGS[@]}" || return 1
    echo "cluster: up in $((SECONDS - t0)) s (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  fi
  cluster_env
}

cluster_restore() {
  if [ "$_cluster_started" = 1 ] && [ "${RTETL_CLUSTER_KEEP:-0}" != 1 ]; then
    _cluster_started=0
    local t0=$SECONDS
    "$CLUSTER_STACK" down || true
    echo "cluster: down in $((SECONDS - t0)) s" >&2
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  marker="$RTETL_STACK_DIR/fixture-started-cluster"
  case "${1:-}" in
  setup)
    mkdir -p "$RTETL_STACK_DIR"
    rm -f "$marker"
    cluster_ensure_up
    if [ "$_cluster_started" = 1 ]; then touch "$marker"; fi
    ;;
  cleanup)
    if [ -f "$marker" ]; then
      rm -f "$marker"
      _cluster_started=1
    fi
    cluster_restore
    ;;
  *) echo "usage: $0 setup|cleanup" >&2; exit 2 ;;
  esac
fi
